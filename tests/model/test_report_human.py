"""A human-label model's page lists the colours people labelled, each with the model's answer,
and its data row counts the prior's generated rows beside the labelled ones."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest

from fontpipe.color.cube import lookup_p_black
from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import open_dataset, read_split_arrays
from fontpipe.evaluation.card import labelled_colours
from fontpipe.evaluation.evaluate_version import evaluate_version
from fontpipe.evaluation.report import write_report
from fontpipe.schema import SPLITS
from tests.human_model import human_label_version

COLOURS = 200


@pytest.fixture(scope="module")
def human_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("human")
    rng = np.random.default_rng(8)
    rgb = rng.integers(0, 256, (COLOURS, 3), dtype=np.uint8)
    black = get_rule("wcag").label(rgb).astype(bool)
    black[:20] = ~black[:20]  # a few judgements against the prior
    dataset = root / "palette"
    version = human_label_version(root, rgb, black, dataset)
    assessment = evaluate_version(version.path, dataset_path=dataset, recipe=None)
    target = root / "report" / "report.html"
    write_report(assessment, target)
    return assessment, target, dataset


def test_the_page_lists_every_labelled_colour_with_the_models_answer(human_report):
    assessment, target, dataset = human_report
    html = target.read_text(encoding="utf-8")
    listed = re.findall(
        r'<figure class="(differs)?" data-hex="(#[0-9a-f]{6})" data-label="(\w+)" '
        r'data-answer="(\w+)" data-split="(\w+)">',
        html,
    )
    opened = open_dataset(dataset)
    expected = {}
    for split in SPLITS:
        rgb, label = read_split_arrays(opened, split)
        colours = rgb.astype(np.uint8)
        answers = lookup_p_black(assessment.table, colours) > 0.5
        for colour, wanted, answer in zip(colours, label, answers, strict=True):
            hex_ = "#{:02x}{:02x}{:02x}".format(*colour.tolist())
            people = "black" if wanted == 1 else "white"
            expected[hex_] = (people, "black" if answer else "white", split)
    assert len(listed) == len(expected) == COLOURS
    assert {hex_: (label, answer, split) for _, hex_, label, answer, split in listed} == expected
    differs = [(flag, label, answer) for flag, _, label, answer, _ in listed]
    assert all((flag == "differs") == (label != answer) for flag, label, answer in differs)
    # Those answered otherwise come first.
    flags = [flag for flag, *_ in listed]
    assert flags == sorted(flags, reverse=True)
    said = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    wrong = sum(flag == "differs" for flag in flags)
    assert f"{wrong:,} of the {COLOURS:,} are answered otherwise" in said


def test_the_data_row_counts_the_priors_generated_rows(human_report):
    _, target, _ = human_report
    said = " ".join(unescape(re.sub(r"<[^>]+>", " ", target.read_text())).split())
    assert f"{COLOURS:,} human-labelled colours" in said
    assert "Training added 5,000 rows generated uniformly and labelled by the wcag rule" in said


def test_a_long_list_shows_the_disagreements_first_and_says_what_it_left_out():
    table = np.zeros(1 << 24, np.float16)  # the model answers white everywhere
    rgb = np.array([[i, i, i] for i in range(10)], np.float32)
    label = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], np.int32)
    listed = labelled_colours(
        {"train": (rgb[:6], label[:6]), "test": (rgb[6:], label[6:])}, table, 4
    )
    assert listed.total == 10 and listed.disagreements == 3 and listed.left_out == 6
    assert [c.hex for c in listed.shown[:3]] == ["#090909", "#000000", "#020202"]
    assert listed.shown[3].split == "test" and listed.shown[3].agrees
