"""``route``: per-language model directories combined into one that routes by detected language."""

from __future__ import annotations

from pathlib import Path

from sentiq.models.directory import check_output, manifest_for, write_model_directory
from sentiq.models.routed import RoutedClassifier
from sentiq.preprocess import get_profile


def route(
    models: dict[str, str | Path],
    output_dir: str | Path,
    *,
    fallback: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Combine model directories into one that routes each text by its detected language.

    ``models`` maps a language code (``zh``, ``en``, ...) to a model directory; members must
    share one label set. Texts in a language without a member go to ``fallback``: a member
    language, or ``"unsupported"`` (the default), which gives them no label. The members are copied inside.
    """
    output_dir = check_output(output_dir, overwrite=overwrite)
    model = RoutedClassifier.from_directories(models, fallback=fallback)
    members = {lang: p.manifest for lang, p in model.members.items()}
    routes = " ".join(f"--model {lang}={path}" for lang, path in models.items())
    manifest = manifest_for(
        model,
        preprocess=get_profile("none").spec(),
        language="multi",
        config={"routes": {lang: str(path) for lang, path in models.items()}, "fallback": model.fallback},
        metrics={lang: m.metrics for lang, m in members.items()},
        warnings=[f"{lang}: {w}" for lang, m in members.items() for w in m.warnings],
        command=f"sentiq route {routes} --fallback {model.fallback} --output {output_dir}",
    )
    write_model_directory(output_dir, manifest=manifest, save=model.save, overwrite=overwrite, model=model)
    return output_dir
