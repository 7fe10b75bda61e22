"""The export command: ONNX export with its parity check."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import Overwrite, friendly_errors, out, progress_bars


def _export_table(report: dict, title: str) -> Table:
    table = Table(title=title)
    for column in ("check", "PyTorch", "ONNX", "change"):
        table.add_column(column, justify="left" if column == "check" else "right")
    if "accuracy_pytorch" in report:
        table.add_row(
            f"accuracy ({report['labelled_rows']} labelled rows)",
            f"{report['accuracy_pytorch']:.4f}",
            f"{report['accuracy_onnx']:.4f}",
            f"{report['accuracy_change_points']:+.2f} pt",
        )
    table.add_row(f"label agreement ({report['texts']} texts)", "", "", f"{100 * report['label_agreement']:.2f}%")
    table.add_row("max probability difference", "", "", f"{report['max_prob_diff']:.2e}")
    table.add_row("mean probability difference", "", "", f"{report['mean_prob_diff']:.2e}")
    table.add_row("result", "", "", "passed" if report["passed"] else "FAILED")
    return table


@friendly_errors
def export_cmd(
    model_dir: Path = typer.Argument(..., help="A fine-tuned (approach finetune) sentiq model directory."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory to write the exported model to."),
    format_: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    quantize: Optional[str] = typer.Option(None, help="int8: dynamic int8 quantization (smaller, faster on CPU)."),
    data: Optional[str] = typer.Option(
        None, help="Labelled data for the accuracy check (default: the training data's test split; 'none' skips it)."
    ),
    split: str = typer.Option("test", help="Split of --data to check on."),
    eval_rows: int = typer.Option(500, help="Labelled rows to check accuracy on (a seeded sample)."),
    min_eval_rows: int = typer.Option(100, help="Refuse the export when the accuracy check has fewer labelled rows."),
    max_accuracy_drop: float = typer.Option(0.5, help="Fail when the export loses more accuracy points than this."),
    overwrite: Overwrite = False,
) -> None:
    """Export to ONNX (served without torch); check parity with PyTorch before writing anything."""
    from sentiq.errors import ConfigError, Errors, ExportError
    from sentiq.export import export_onnx

    if format_ != "onnx":
        raise ConfigError(Errors.E107, format_=format_)
    try:
        with progress_bars() as progress:
            result = export_onnx(
                model_dir,
                output,
                quantize=quantize,
                data=data,
                split=split,
                eval_rows=eval_rows,
                min_eval_rows=min_eval_rows,
                max_accuracy_drop=max_accuracy_drop,
                overwrite=overwrite,
                progress=progress,
            )
    except ExportError as exc:
        if exc.report:
            out.print(_export_table(exc.report, f"{model_dir.name} -> ONNX {quantize or 'fp32'}: parity"))
        raise
    out.print(_export_table(result.report, f"{model_dir.name} -> ONNX {quantize or 'fp32'}: parity"))
    out.print(f"model: {result.output_dir} (serve with Predictor.load; needs onnxruntime, not torch)")
