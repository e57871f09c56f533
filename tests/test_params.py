"""`params.validate`: each rule on good and bad values, and its one-sentence message."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from dl_vision_labs import params
from dl_vision_labs.params import ParameterError


def _message(**parameters) -> str:
    with pytest.raises(ParameterError) as caught:
        params.validate(**parameters)
    return str(caught.value)


def test_the_message_is_one_sentence_saying_what_is_allowed():
    assert _message(EPOCHS=0) == "EPOCHS must be a whole number of at least 1, got 0."
    assert _message(DATASET=params.one_of("svhn", "mnist", "cifar10")) == (
        "DATASET must be one of 'mnist' or 'cifar10', got 'svhn'."
    )


def test_the_error_is_a_value_error_raised_without_a_chain():
    with pytest.raises(ValueError) as caught:
        params.validate(EPOCHS=3, BATCH_SIZE=-1)
    assert caught.type is ParameterError
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert "BATCH_SIZE" in str(caught.value)


def test_good_values_pass_and_check_returns_nothing():
    assert (
        params.validate(
            EPOCHS=12,
            SMALL_EPOCHS=1,
            STEPS_PER_EPOCH=500,
            BATCH_SIZE=np.int64(64),
            SEED=0,
            SMOKE=True,
            LEARNING_RATE=2e-4,
            CNN_DROPOUT=0,
            DROPOUT=0.2,
            DATASET=params.one_of("mnist", "mnist", "fashion_mnist"),
        )
        is None
    )
    params.validate()  # nothing to check


@pytest.mark.parametrize(
    "name",
    [
        "EPOCHS",
        "FINE_TUNE_EPOCHS",
        "SCRATCH_STEPS",
        "D_STEPS",
        "STEPS_PER_EPOCH",
        "CNN_DECAY_STEPS",
        "BATCH_SIZE",
    ],
)
def test_counts_by_name_are_whole_numbers_of_at_least_one(name):
    params.validate(**{name: 1})
    for bad in [0, -3, 2.0, 2.5, True, "3", None]:
        assert _message(**{name: bad}) == (
            f"{name} must be a whole number of at least 1, got {bad!r}."
        )


def test_seed_is_a_whole_number_numpy_accepts():
    params.validate(SEED=0)
    params.validate(SEED=2**32 - 1)
    for bad in [-1, 2**32, 4.2, False, "42"]:
        assert _message(SEED=bad) == (
            f"SEED must be a whole number from 0 to 4294967295, got {bad!r}."
        )


def test_smoke_is_true_or_false():
    params.validate(SMOKE=False)
    for bad in [0, 1, "True", "true", None]:
        assert _message(SMOKE=bad) == f"SMOKE must be True or False, got {bad!r}."


def test_learning_rates_by_name_are_positive_numbers():
    params.validate(LEARNING_RATE=1e-3, D_LEARNING_RATE=1)
    for bad in [0, -0.1, math.inf, math.nan, True, "0.1"]:
        assert _message(LEARNING_RATE=bad) == (
            f"LEARNING_RATE must be a number greater than 0, got {bad!r}."
        )


def test_dropout_by_name_is_a_rate():
    params.validate(DROPOUT=0, CNN_DROPOUT=0.999)
    for bad in [1, 1.5, -0.1, False]:
        assert _message(CNN_DROPOUT=bad) == (
            f"CNN_DROPOUT must be a number of at least 0 and less than 1, got {bad!r}."
        )


def test_an_explicit_rule_wins_over_the_name():
    params.validate(EPOCHS=params.count(0, at_least=0))
    assert _message(IMAGE_SIZE=params.count(16, at_least=32)) == (
        "IMAGE_SIZE must be a whole number of at least 32, got 16."
    )


def test_a_plain_value_with_no_rule_by_its_name_is_a_type_error():
    with pytest.raises(TypeError, match=r"no rule for ALPHA.*params\.one_of\(ALPHA"):
        params.validate(ALPHA=0.35)
    with pytest.raises(TypeError, match="no rule for STOP_AFTER_EPOCH"):
        params.validate(STOP_AFTER_EPOCH=None)  # "EPOCH", not the word "EPOCHS"


def test_count_with_bounds():
    params.validate(
        FOLDS=params.count(2, at_least=2), KNN_TEST=params.count(10_000, at_most=10_000)
    )
    assert _message(FOLDS=params.count(1, at_least=2)) == (
        "FOLDS must be a whole number of at least 2, got 1."
    )
    assert _message(KNN_TEST=params.count(10_001, at_most=10_000)) == (
        "KNN_TEST must be a whole number from 1 to 10000, got 10001."
    )


def test_integer():
    params.validate(OFFSET=params.integer(-5), N=params.integer(3, at_most=3))
    assert _message(OFFSET=params.integer(1.5)) == "OFFSET must be a whole number, got 1.5."
    assert _message(N=params.integer(4, at_most=3)) == (
        "N must be a whole number of at most 3, got 4."
    )


def test_counts_of_a_given_length():
    params.validate(
        CNN_FILTERS=params.counts((24, 48, 64), length=3), UNITS=params.counts([200, 100])
    )
    allowed = "CNN_FILTERS must be a tuple of 3 whole numbers, each at least 1"
    for bad in [(24, 48), (24, 0, 64), (24, 48.0, 64), (True, 2, 3), 24, "24,48,64", ()]:
        assert _message(CNN_FILTERS=params.counts(bad, length=3)) == f"{allowed}, got {bad!r}."
    assert _message(UNITS=params.counts([])) == (
        "UNITS must be a tuple of whole numbers, each at least 1, got []."
    )


def test_number_bounds_included_or_not():
    def fraction(v):
        return params.number(v, above=0, below=1)

    params.validate(TEST_FRACTION=fraction(0.5), X=params.number(-2), Y=params.number(1, at_most=1))
    for bad in [0, 1, 0.0, 1.2, "half"]:
        assert _message(TEST_FRACTION=fraction(bad)) == (
            f"TEST_FRACTION must be a number greater than 0 and less than 1, got {bad!r}."
        )
    assert _message(Y=params.number(1.5, at_least=0, at_most=1)) == (
        "Y must be a number of at least 0 and at most 1, got 1.5."
    )
    assert _message(X=params.number(math.nan)) == "X must be a number, got nan."


def test_positive_and_rate():
    params.validate(BETA_1=params.rate(0.5), ALPHA=params.positive(0.35))
    assert _message(BETA_1=params.rate(1.0)) == (
        "BETA_1 must be a number of at least 0 and less than 1, got 1.0."
    )
    assert _message(ALPHA=params.positive(0)) == "ALPHA must be a number greater than 0, got 0."


def test_flag_explicit():
    params.validate(FRESH_START=params.flag(True))
    assert _message(FRESH_START=params.flag("no")) == "FRESH_START must be True or False, got 'no'."


def test_one_of_names_and_numbers():
    backbones = ("MobileNetV2", "ResNet50V2", "EfficientNetB0")
    params.validate(
        BACKBONE=params.one_of("ResNet50V2", *backbones),
        ALPHA=params.one_of(1, 0.35, 1.0),
        MODE=params.one_of(None, None, "fast"),
    )
    assert _message(BACKBONE=params.one_of("mobilenetv2", *backbones)) == (
        "BACKBONE must be one of 'MobileNetV2', 'ResNet50V2' or 'EfficientNetB0', "
        "got 'mobilenetv2' (did you mean 'MobileNetV2'?)."
    )
    assert _message(DATASET=params.one_of("mnsit", "mnist", "fashion_mnist", "cifar10")) == (
        "DATASET must be one of 'mnist', 'fashion_mnist' or 'cifar10', got 'mnsit' "
        "(did you mean 'mnist'?)."
    )
    assert _message(ALPHA=params.one_of(0.3, 0.35, 1.0)) == (
        "ALPHA must be one of 0.35 or 1.0, got 0.3."
    )
    assert _message(ONE=params.one_of(True, 1)) == "ONE must be one of 1, got True."
    with pytest.raises(TypeError, match="at least one choice"):
        params.one_of("mnist")


def test_text_and_path():
    params.validate(
        LAYER=params.text("block_13_expand"),
        FOLDER=params.path("my photos"),
        IMAGE=params.path(Path("cat.jpg")),
    )
    for bad in ["", "  ", 13, None]:
        assert _message(LAYER=params.text(bad)) == (
            f"LAYER must be a non-empty text in quotes, got {bad!r}."
        )
    assert _message(FOLDER=params.path(3)) == (
        'FOLDER must be a path in quotes, like "my_photos", got 3.'
    )


def test_optional_allows_none_or_the_rule():
    params.validate(
        STOP_AFTER_EPOCH=params.optional(params.count(None)),
        MY_FOLDER=params.optional(params.path(None)),
        MY_IMAGE=params.optional(params.path("dog.jpg")),
    )
    assert _message(STOP_AFTER_EPOCH=params.optional(params.count(0))) == (
        "STOP_AFTER_EPOCH must be None or a whole number of at least 1, got 0."
    )
    assert re.search(
        r"did you mean 'mnist'",
        _message(D=params.optional(params.one_of("mnst", "mnist", "cifar10"))),
    )
    with pytest.raises(TypeError, match="takes a rule"):
        params.optional(3)


def test_the_package_offers_the_module_lazily():
    import dl_vision_labs

    assert dl_vision_labs.params is params
