"""Behaviour of the typed run config: files, overrides, validation messages, the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sentiq.config import (
    SentiqConfig,
    apply_overrides,
    build_config,
    describe_fields,
    load_config,
    save_config,
)
from sentiq.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


# --- defaults and files ------------------------------------------------------------------


def test_defaults_validate():
    config = load_config()
    assert isinstance(config, SentiqConfig)
    assert config == build_config() == SentiqConfig()
    assert config.training.learning_rate == pytest.approx(2e-5)
    assert config.data.source == "imdb"
    assert not (config.training.fp16 and config.training.bf16)
    # The defaults survive a round trip through their own dict form.
    assert build_config(config.to_dict()) == config


def test_yaml_file_loads(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "name: tweets\n"
        "seed: 7\n"
        "data:\n"
        "  source: sentiment140\n"
        "  label_map: {0: negative, 4: positive}\n"
        "training:\n"
        "  learning_rate: 5.0e-5\n"
        "  epochs: 2\n"
        "  class_weights: balanced\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.name == "tweets"
    assert config.seed == 7
    assert config.data.source == "sentiment140"
    assert config.data.label_map == {"0": "negative", "4": "positive"}
    assert config.training.learning_rate == pytest.approx(5e-5)
    assert config.training.epochs == 2.0
    assert config.training.class_weights == "balanced"
    # Untouched fields keep their defaults.
    assert config.training.batch_size == SentiqConfig().training.batch_size


def test_json_file_loads(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"model": "minilm", "training": {"batch_size": 32, "bf16": True}}), encoding="utf-8")
    config = load_config(str(path))
    assert config.training.batch_size == 32
    assert config.training.bf16 is True


def test_empty_yaml_file_gives_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_config(path) == SentiqConfig()


def test_overrides_apply_on_top_of_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  epochs: 5\n  batch_size: 8\n", encoding="utf-8")
    config = load_config(path, ["training.epochs=1"])
    assert config.training.epochs == 1.0
    assert config.training.batch_size == 8


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_config(missing)
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_yaml_is_refused(tmp_path, content):
    path = tmp_path / "list.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


@pytest.mark.parametrize(("name", "content"), [("bad.yaml", "training: [unclosed\n"), ("bad.json", "{not json")])
def test_unparseable_file_is_refused(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        load_config(path)


def test_config_error_is_a_value_error_with_code():
    with pytest.raises(ValueError) as info:
        build_config(None, ["training.batch_size=0"])
    assert isinstance(info.value, ConfigError)
    assert str(info.value).startswith("[E116] invalid config: training.batch_size")


# --- overrides ---------------------------------------------------------------------------


def test_overrides_parse_yaml_types():
    config = build_config(
        None,
        [
            "training.learning_rate=3e-5",
            "training.epochs=2",
            "training.fp16=true",
            "training.eval_steps=100",
            "training.warmup_steps=null",
            "training.class_weights={negative: 2.0, positive: 0.5}",
            "seed=123",
            "name=my run",
        ],
    )
    assert isinstance(config.training.learning_rate, float)
    assert config.training.learning_rate == pytest.approx(3e-5)
    assert config.training.epochs == 2.0
    assert config.training.fp16 is True
    assert config.training.eval_steps == 100
    assert config.training.warmup_steps is None
    assert config.training.class_weights == {"negative": 2.0, "positive": 0.5}
    assert config.seed == 123
    assert config.name == "my run"


@pytest.mark.parametrize("value", ["3e-5", "3.0e-5", "0.00003", "3E-5"])
def test_scientific_learning_rate_becomes_float(value):
    config = build_config(None, [f"training.learning_rate={value}"])
    assert type(config.training.learning_rate) is float
    assert config.training.learning_rate == pytest.approx(3e-5)


def test_label_map_override_keys_become_strings():
    config = build_config(None, ["data.label_map={0: negative, 4: positive}"])
    assert config.data.label_map == {"0": "negative", "4": "positive"}
    assert all(isinstance(k, str) for k in config.data.label_map)


def test_apply_overrides_creates_sections_and_does_not_mutate_input():
    base = {"training": {"epochs": 3}}
    merged = apply_overrides(base, ["training.batch_size=4", "data.source=waimai", "seed=1"])
    assert merged == {"training": {"epochs": 3, "batch_size": 4}, "data": {"source": "waimai"}, "seed": 1}
    assert base == {"training": {"epochs": 3}}


def test_value_may_contain_equals_sign():
    config = build_config(None, ["name=a=b"])
    assert config.name == "a=b"


@pytest.mark.parametrize("override", ["training.learning_rate", "=3", "  =x"])
def test_malformed_override(override):
    with pytest.raises(ConfigError, match="key=value"):
        build_config(None, [override])


def test_override_into_a_scalar_is_refused():
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"name": "run"}, ["name.sub=1"])
    with pytest.raises(ConfigError, match="name"):
        build_config({"name": "run"}, ["name.sub=1"])
    # A new dotted key under a scalar field fails validation, naming the field.
    with pytest.raises(ConfigError, match="name: "):
        build_config(None, ["name.sub=1"])


# --- validation messages -----------------------------------------------------------------


def test_negative_learning_rate_names_the_field():
    with pytest.raises(ConfigError) as info:
        build_config(None, ["training.learning_rate=-1"])
    assert "training.learning_rate" in str(info.value)
    assert "-1" in str(info.value)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError) as info:
        build_config(None, ["training.lerning_rate=3e-5"])
    message = str(info.value)
    assert "unknown field" in message
    assert "training.lerning_rate" in message


def test_unknown_top_level_key_in_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("modle: minilm\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="modle: unknown field"):
        load_config(path)


def test_fp16_and_bf16_are_exclusive():
    with pytest.raises(ConfigError) as info:
        build_config(None, ["training.fp16=true", "training.bf16=true"])
    assert "fp16" in str(info.value) and "bf16" in str(info.value)
    # Each alone is fine.
    assert build_config(None, ["training.fp16=true"]).training.fp16
    assert build_config(None, ["training.bf16=true"]).training.bf16


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("training.batch_size=0", "training.batch_size"),
        ("training.max_length=4", "training.max_length"),
        ("training.warmup_ratio=1.5", "training.warmup_ratio"),
        ("training.metric_for_best_model=precision", "training.metric_for_best_model"),
        ("training.class_weights=heavy", "training.class_weights"),
        ("training.early_stopping_patience=0", "training.early_stopping_patience"),
        ("training.gradient_accumulation_steps=0", "training.gradient_accumulation_steps"),
        ("training.epochs=abc", "training.epochs"),
        ("data.validation_size=0.7", "data.validation_size"),
        ("data.test_size=0", "data.test_size"),
        ("data.max_train_samples=1", "data.max_train_samples"),
        ("approach=zero-shot", "approach"),
    ],
)
def test_bad_values_name_the_field(override, field):
    with pytest.raises(ConfigError) as info:
        build_config(None, [override])
    assert f"{field}:" in str(info.value)


@pytest.mark.parametrize(
    "override",
    [
        "training.class_weights=heavy",
        "training.class_weights={negative: abc}",
        "training.class_weights={negative: -1.0}",
        "training.class_weights=[1, 2]",
    ],
)
def test_bad_class_weights_give_one_clear_message(override):
    with pytest.raises(ConfigError) as info:
        build_config(None, [override])
    message = str(info.value)
    assert "training.class_weights: " in message
    assert "none, balanced" in message
    assert "literal[" not in message and "dict[" not in message


def test_class_weights_accept_raw_label_keys():
    config = build_config(None, ["training.class_weights={0: 2, 1: 1.0}"])
    assert config.training.class_weights == {"0": 2.0, "1": 1.0}
    assert build_config(None, ["training.class_weights=balanced"]).training.class_weights == "balanced"


def test_several_errors_are_all_reported():
    with pytest.raises(ConfigError) as info:
        build_config(None, ["training.batch_size=0", "data.test_size=0.9"])
    assert "training.batch_size" in str(info.value)
    assert "data.test_size" in str(info.value)


# --- save / load round trip --------------------------------------------------------------


def test_save_then_load_round_trips(tmp_path):
    config = build_config(
        {"name": "round-trip", "model": "some/hub-model", "preprocess": "tweet", "seed": 3},
        [
            "data.source=sentiment140",
            "data.label_map={0: negative, 4: positive}",
            "data.encoding=latin-1",
            "data.max_train_samples=1000",
            "training.learning_rate=3e-5",
            "training.warmup_steps=50",
            "training.class_weights={negative: 1.5, positive: 1.0}",
            "training.early_stopping_patience=2",
            "training.bf16=true",
        ],
    )
    path = tmp_path / "saved.yaml"
    save_config(config, path)
    assert path.is_file()
    assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)
    loaded = load_config(path)
    assert loaded == config
    assert loaded.to_dict() == config.to_dict()


def test_save_defaults_round_trip(tmp_path):
    path = tmp_path / "defaults.yaml"
    save_config(SentiqConfig(), path)
    assert load_config(path) == SentiqConfig()


# --- the config reference ----------------------------------------------------------------

KNOBS = [
    "training.max_length",
    "training.batch_size",
    "training.epochs",
    "training.learning_rate",
    "training.warmup_ratio",
    "training.warmup_steps",
    "training.weight_decay",
    "training.adam_epsilon",
    "training.max_grad_norm",
    "training.gradient_accumulation_steps",
    "training.fp16",
    "training.bf16",
    "training.eval_steps",
    "training.metric_for_best_model",
    "training.early_stopping_patience",
    "training.class_weights",
    "seed",
]


def test_describe_fields_lists_every_knob_with_a_description():
    rows = describe_fields()
    described = {key: (default, description) for key, default, description in rows}
    assert len(described) == len(rows), "duplicate keys in the reference"
    for knob in KNOBS:
        assert knob in described, f"{knob} missing from describe_fields()"
        assert described[knob][1].strip(), f"{knob} has no description"


def test_describe_fields_every_row_is_documented_and_defaults_match():
    rows = describe_fields()
    defaults = SentiqConfig().to_dict()
    for key, default, description in rows:
        assert description.strip(), f"{key} has no description"
        node = defaults
        for part in key.split("."):
            node = node[part]
        assert json.loads(default) == node, key
    # Sections are expanded, never listed as a field of their own.
    keys = {key for key, _, _ in rows}
    assert "data" not in keys and "training" not in keys
    assert "data.source" in keys


# --- shipped example configs -------------------------------------------------------------


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_validate(path):
    config = load_config(path)
    assert isinstance(config, SentiqConfig)


# --- names and approach-specific settings, checked when the config is built ---------------------


def test_a_misspelt_preprocessing_profile_fails_at_build_with_the_valid_names():
    with pytest.raises(
        ConfigError,
        match=r"preprocess: .*choose auto or one of chinese, chinese-t2s, none, review, "
        r"tweet \(got 'twet'\)",
    ):
        build_config(overrides=["preprocess=twet"])
    assert build_config(overrides=["preprocess=tweet"]).preprocess == "tweet"


@pytest.mark.parametrize(
    "model, message",
    [
        ("./no/such/folder", "model folder ./no/such/folder does not exist"),
        ("bad name!", "not a model alias"),
    ],
)
def test_a_bad_model_fails_at_build(model, message):
    with pytest.raises(ConfigError, match=f"model: .*{message}"):
        build_config({"model": model})


def test_a_model_folder_needs_a_config_json(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        build_config({"model": str(tmp_path)})
    # a model directory's record keeps its path even when the folder has moved since
    assert build_config({"model": str(tmp_path / "gone")}, recorded=True).model == str(tmp_path / "gone")


def test_aliases_and_hub_ids_validate():
    for name in ("minilm", "e5-multilingual", "bert-base-uncased", "intfloat/multilingual-e5-small"):
        assert build_config({"model": name}).model == name


def test_approach_requirements_fail_at_build():
    with pytest.raises(ConfigError, match="needs ensemble.members"):
        build_config({"approach": "ensemble", "ensemble": {"members": ["a"]}})
    with pytest.raises(ConfigError, match="hybrid.parts must hold lexicon"):
        build_config({"approach": "hybrid", "hybrid": {"parts": ["tfidf", "nb"]}})


def test_settings_the_approach_ignores_are_named_in_a_warning(caplog):
    from sentiq.config import ignored_settings, warn_ignored_settings

    cfg = build_config(
        {
            "approach": "tfidf",
            "model": "bert-base-uncased",
            "tfidf": {"min_df": 1},
            "training": {"epochs": 1, "eval_batch_size": 8, "augment": {"ops": ["swap"]}},
            "embedding": {"C": 2.0},
        }
    )
    assert ignored_settings(cfg, ["tfidf"]) == ["embedding.C", "model", "training.epochs"]
    assert ignored_settings(cfg, ["tfidf", "embedding", "finetune"]) == []  # compare trains all three
    hybrid = build_config({"approach": "hybrid", "tfidf": {"min_df": 1}, "embedding": {"C": 2.0}})
    assert ignored_settings(hybrid, ["hybrid"]) == ["embedding.C"]  # parts lexicon, tfidf, nb: no embedding
    with caplog.at_level("WARNING", logger="sentiq.config"):
        warn_ignored_settings(cfg, ["tfidf"])
    assert "do not apply to approach tfidf" in caplog.text and "training.epochs" in caplog.text


def test_train_warns_about_ignored_settings_and_checks_the_model_before_reading_data(tmp_path, caplog):
    from sentiq.errors import ModelError
    from sentiq.workflows import train

    missing = {"data": {"source": str(tmp_path / "missing.csv")}}
    with pytest.raises(ModelError, match="cannot load model 'nosuch-org/nosuch-model'"):  # not a DataError
        train(build_config({**missing, "model": "nosuch-org/nosuch-model"}), tmp_path / "m")
    with caplog.at_level("WARNING", logger="sentiq.config"), pytest.raises(Exception):
        train(build_config({**missing, "approach": "tfidf", "training": {"epochs": 1}}), tmp_path / "m")
    assert "training.epochs" in caplog.text


@pytest.mark.parametrize("target, n_members", [("chnsenticorp-ensemble", 3), ("waimai-ensemble", 4), ("imdb-stack", 2)])
def test_make_recipe_trains_valid_configs(target, n_members, tmp_path):
    """Every `sentiq train` line `make TARGET` would run builds a valid config, all on one split (the members'
    test rows are the ensemble's), and the ensemble gets the very member directories the member lines write."""
    import shlex
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = CONFIGS[0].parents[1]
    plan = subprocess.run(
        ["make", "-n", "-s", target, f"MODELS={tmp_path}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    commands = [shlex.split(line) for line in plan.splitlines() if " train " in line]
    outputs, ensemble, splits = [], None, set()
    for args in commands:
        config = args[args.index("-c") + 1] if "-c" in args else None
        overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
        built = load_config(root / config if config else None, overrides)
        splits.add((built.seed, built.data.source, built.data.test_size, built.data.validation_size))
        if built.approach == "ensemble":
            ensemble = built
        else:
            outputs.append(args[args.index("-o") + 1])
    assert len(outputs) == n_members and ensemble is not None
    assert len(splits) == 1, splits
    assert ensemble.ensemble.members == outputs
    assert ensemble.ensemble.weights is None or len(ensemble.ensemble.weights) == len(outputs)  # one per member
