"""Tokenisation (single and pair), truncation, length-bucketed batches, dynamic padding."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.data.examples import TextExamples
from otters.data.tasks import get_task
from otters.data.tokenize import Encoded, bucketed_batches, collate, encode, load_tokenizer, resolve_model_dir
from otters.errors import OttersError


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def test_single_and_pair_encoding(tokenizer):
    single = TextExamples(get_task("sst2"), "x", ["a fine film", "bad"], None, np.array([1, 0]))
    enc = encode(tokenizer, single, max_len=32)
    assert tokenizer.convert_ids_to_tokens(enc.input_ids[1]) == ["[CLS]", "bad", "[SEP]"]
    assert enc.token_type_ids[0] == [0] * len(enc.input_ids[0])
    pair = TextExamples(get_task("rte"), "x", ["a cat sat"], ["a dog ran"], np.array([0]))
    tokens = tokenizer.convert_ids_to_tokens(encode(tokenizer, pair, 32).input_ids[0])
    assert tokens == ["[CLS]", "a", "cat", "sat", "[SEP]", "a", "dog", "ran", "[SEP]"]
    assert encode(tokenizer, pair, 32).token_type_ids[0] == [0] * 5 + [1] * 4


def test_truncation(tokenizer):
    long = TextExamples(get_task("rte"), "x", ["word " * 100], ["other " * 100], np.array([0]))
    enc = encode(tokenizer, long, max_len=16)
    assert len(enc.input_ids[0]) == 16
    assert tokenizer.convert_ids_to_tokens(enc.input_ids[0]).count("[SEP]") == 2
    with pytest.raises(OttersError, match="max_len"):
        encode(tokenizer, long, max_len=2)


@settings(max_examples=40)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=400), st.integers(1, 33), st.booleans(),
       st.integers(0, 1000))
def test_batches_partition_rows(lengths, batch_size, shuffle, seed):
    lengths = np.array(lengths)
    batches = bucketed_batches(lengths, batch_size, shuffle, seed)
    flat = np.concatenate(batches)
    assert np.array_equal(np.sort(flat), np.arange(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    again = bucketed_batches(lengths, batch_size, shuffle, seed)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_bucketing_reduces_padding():
    lengths = np.random.default_rng(0).integers(5, 120, size=4000)
    padded = sum(lengths[b].max() * len(b) for b in bucketed_batches(lengths, 32, True, 0))
    random_order = np.random.default_rng(1).permutation(len(lengths))
    unbucketed = sum(lengths[random_order[i:i + 32]].max() * len(random_order[i:i + 32]) for i in range(0, 4000, 32))
    assert padded < 0.7 * unbucketed


def test_collate_pads_and_masks():
    enc = Encoded([[101, 5, 102], [101, 102]], [[0, 0, 0], [0, 0]], np.array([1, 0]), pad_id=0)
    batch = collate(enc, [1, 0])
    assert batch["input_ids"].tolist() == [[101, 102, 0], [101, 5, 102]]
    assert batch["attention_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert batch["labels"].tolist() == [0, 1]


def test_model_dir_errors(tmp_path):
    with pytest.raises(OttersError, match="model directory not found"):
        resolve_model_dir(tmp_path / "nope")
    with pytest.raises(OttersError, match="no config.json"):
        resolve_model_dir(tmp_path)
