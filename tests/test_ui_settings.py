"""Settings: every generator the product ships, each with its speed as measured on this machine, and
Measure. Extractive generator, a tiny corpus; no model is loaded."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio")

from tests.test_ui_app import STALLS, ask, assistant, built_index, ui  # noqa: E402,F401 - shared fixtures
from ui.measure import measure  # noqa: E402
from ui.settings import generator_names, missing, render_generators  # noqa: E402
from ui.speeds import Speed  # noqa: E402


def test_every_shipped_generator_is_offered(ui):
    assert generator_names() == ["default", "qwen-1.5b", "qwen-0.5b", "extractive"]
    assert set(generator_names()) <= set(ui.assistants.choices())


def test_a_generator_not_measured_yet_says_so():
    html = render_generators([("qwen-0.5b", "", Speed("qwen-0.5b", 0, None, None, None))])
    assert "qwen-0.5b" in html and "not yet" in html and "—" in html


def test_a_measured_generator_shows_its_figures():
    html = render_generators([("qwen-0.5b", "", Speed("qwen-0.5b", 12, 1.21, 0.82, 4.0))])
    assert "1.2 s" in html and "0.82 s" in html and "4.0 s" in html and "12 answers" in html


def test_a_generator_whose_packages_are_missing_says_how_to_install_them(monkeypatch):
    import qa.weights

    def absent(model):
        raise qa.weights.WeightsError(f"generator {model.name} is incomplete: run `make install`")

    monkeypatch.setattr(qa.weights, "find_parts", absent)
    assert "make install" in missing("qwen-0.5b") and missing("extractive") == ""


def test_answers_in_the_chat_are_the_figures_settings_shows(ui):
    ask(ui, STALLS)
    assert ui.assistants.speeds.speed("extractive").answers == 1


def test_measure_times_the_chosen_generator_on_the_example_questions(ui):
    status = measure(ui.assistants, "extractive", [STALLS, "Who said no one was hurt?"])
    assert "extractive: timed on 2 example questions" in status
    assert ui.assistants.speeds.speed("extractive").answers == 2


def test_measure_without_examples_says_what_to_do(ui):
    assert "add documents first" in measure(ui.assistants, "extractive", [])


def test_measure_of_a_generator_that_will_not_load_says_why_in_a_sentence(ui):
    status = measure(ui.assistants, "/no/such/model.gguf", [STALLS])
    assert "No such .gguf file" in status and "GeneratorError" not in status
