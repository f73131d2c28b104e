"""What the chat shows, from plain data: bubbles, the Evidence panel, the Markdown of Copy and Export, and
the entries of a conversation as kept. Invented answers; no model, no index, no browser."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ui import conversation as conv
from ui.evidence import render_citation_panel, render_context, render_panel_intro, window
from ui.markdown import answer_markdown, conversation_markdown
from ui.render import chat_messages, render_answer, render_streaming, resolved
from ui.welcome import render_welcome

DOCUMENT = "Quarry news\nThe Ashby quarry closed in 1988. It employed 210 people. The site is now a lake.\n"
SENTENCE = "It employed 210 people."
START = DOCUMENT.index(SENTENCE)


def citation(marker: int = 1, **changes) -> dict:
    return {"marker": marker, "source": "news/quarry.txt", "title": "Quarry news", "text": SENTENCE,
            "start": START, "end": START + len(SENTENCE), "supported": True, **changes}


def passage(source: str = "news/quarry.txt", title: str = "Quarry news", text: str = DOCUMENT) -> dict:
    return {"chunk_id": 1, "source": source, "title": title, "text": text, "start": 0, "end": len(text),
            "score": 0.9}


def answer(**changes) -> dict:
    """The shape of `Answer.to_dict()`."""
    data = {"question": "How many people did the Ashby quarry employ?", "text": "210 people [1].",
            "citations": [citation()], "abstained": False, "passages": [passage()],
            "timings": {"retrieve": 0.032, "generate": 0.5, "total": 0.61}, "conflict": False,
            "standalone_question": "How many people did the Ashby quarry employ?", "generator": "extractive",
            "reason": ""}
    return {**data, **changes}


def abstained(**changes) -> dict:
    return answer(text="The documents don't say; the nearest passages are listed below.", citations=[],
                  abstained=True, reason="None of your documents says when the quarry opened.",
                  detail="best evidence score 0.21 is below min_relevance 0.55", **changes)


def entry(state: str = conv.ANSWERED, **changes) -> dict:
    asked = dict(conv.asking("How many people did the Ashby quarry employ?"), id="e1")
    if state == conv.ANSWERED:
        return conv.answered(asked, answer(**changes))
    if state == conv.STOPPED:
        return conv.stopped(asked)
    if state == conv.FAILED:
        return conv.failed(asked, "the model is missing")
    return asked


# -- the answer bubble ----------------------------------------------------------------------------------
def test_markers_link_to_their_citation():
    html = render_answer(answer(), 3)
    assert '<a class="cq-cite" href="#cq-cite-3-1" title="Quarry news">[1]</a>' in html


def test_a_marker_without_a_citation_stays_text():
    html = render_answer(answer(text="210 people [1] [7]."), 0)
    assert "[7]" in html and "#cq-cite-0-7" not in html


def test_timings_are_folded_under_details():
    html = render_answer(answer(), 0)
    shown, folded = html.split('<details class="cq-details">')
    assert "retrieve 32 ms" in folded and " ms" not in shown


def test_copy_carries_the_answer_as_markdown():
    html = render_answer(answer(), 0)
    assert '<button class="cq-copy"' in html
    assert '<div class="cq-md">210 people [^1].' in html


def test_abstention_shows_the_plain_reason_in_the_box_and_the_detail_folded():
    html = render_answer(abstained(), 0)
    box, folded = html.split('<details class="cq-details">')
    assert "cq-abstain" in box and "None of your documents says when the quarry opened." in box
    assert "below min_relevance" not in box and "below min_relevance" in folded


def test_abstention_points_to_the_nearest_passages_one_way_only():
    html = render_answer(abstained(), 0)
    assert "Nearest passages, under Evidence: Quarry news" in html
    assert "listed below" not in html and "on the right" not in html


def test_an_answer_without_detail_renders():  # Answer has no `detail` before the qa change lands
    data = abstained()
    del data["detail"]
    assert "cq-abstain" in render_answer(data, 0)


def test_a_follow_up_shows_what_its_words_were_taken_to_mean():
    html = render_answer(answer(question="How many did it employ?", standalone_question="How many did the Ashby "
                                "quarry employ?"), 0)
    assert "Understood “it” as the Ashby quarry." in html


def test_a_possessive_and_a_pronoun_at_the_end_are_shown_as_resolved():
    assert resolved("Who shot him?", "Who shot Chris Kaba?") == [("him", "Chris Kaba")]
    assert resolved("What is his age?", "What is Martyn Blake’s age?") == [("his", "Martyn Blake’s")]


def test_a_follow_up_whose_rewrite_resolved_nothing_shows_no_understood_as():
    kept_whole = answer(question="What will he face?", standalone_question="What will he face? (following: Who "
                        "was charged?)")  # the previous question added, no word resolved
    assert "Understood" not in render_answer(kept_whole, 0)
    assert "Understood" not in render_answer(answer(), 0)  # a question that stood alone


# -- the Evidence panel ------------------------------------------------------------------------------------
def test_the_cited_sentence_is_highlighted_in_its_document():
    html = render_citation_panel(answer(), 0, 1, DOCUMENT, "17")
    assert f"<mark>{SENTENCE}</mark>" in html and "The Ashby quarry closed in 1988." in html
    assert "cq-shown-17" in html  # the page's script scrolls this click's highlight into view


def test_the_title_stands_in_for_the_file_name():
    html = render_citation_panel(answer(), 0, 1, DOCUMENT)
    assert "[1] Quarry news</div>" in html and ">news/quarry.txt<" not in html


def test_without_a_title_the_file_name_is_shown():
    untitled = answer(citations=[citation(title="")])
    assert "[1] news/quarry.txt</div>" in render_citation_panel(untitled, 0, 1, DOCUMENT)


def test_a_title_is_shown_once_for_several_citations_of_one_document():
    other = "The site is now a lake."
    two = answer(text="Closed [1], now a lake [2].", citations=[
        citation(1), citation(2, text=other, start=DOCUMENT.index(other), end=DOCUMENT.index(other) + len(other))])
    assert render_panel_intro(two, 0).count("Quarry news</div>") == 1


def test_nearest_passages_of_one_document_show_its_title_once():
    mill = "The Ashby quarry mill had 40 people."
    passages = [passage(), passage(text="The Ashby quarry had 210 people."), passage("mill.txt", "Mill news", mill)]
    html = render_panel_intro(abstained(passages=passages), 0)
    assert html.count(">Quarry news</div>") == 1 and html.count(">Mill news</div>") == 1


CHARITY = passage("charity.txt", "Charity gala", "Sentebale raised funds at a gala in Lesotho.")


def test_an_abstention_lists_no_passage_unrelated_to_the_question():
    data = abstained(passages=[CHARITY])
    assert "Nearest passages" not in render_answer(data, 0)
    panel = render_panel_intro(data, 0)
    assert "Charity gala" not in panel and "No passage in your documents shares the words" in panel


def test_a_passage_without_the_name_the_question_asks_about_is_not_near():
    capital = passage("city.txt", "City news", "The capital hosted a charity gala.")
    data = abstained(question="What is the capital of France?", standalone_question="", passages=[capital])
    assert "City news" not in render_panel_intro(data, 0)


def test_an_abstention_lists_the_passages_that_share_the_questions_words():
    panel = render_panel_intro(abstained(passages=[CHARITY, passage()]), 0)
    assert "Quarry news" in panel and "Charity gala" not in panel


def test_a_changed_document_shows_the_sentence_as_cited():
    html = render_context(DOCUMENT.replace("210", "310"), citation())
    assert f"<mark>{SENTENCE}</mark>" in html and "changed since" in html


def test_the_context_window_keeps_whole_lines_near_the_sentence():
    document = "line one\n" + "x" * 2000 + "\nThe cited sentence.\n" + "y " * 1000
    start = document.index("The cited")
    lo, hi = window(document, start, start + len("The cited sentence."))
    assert document[lo:hi] == "The cited sentence."


# -- Markdown: Copy and Export -----------------------------------------------------------------------------
def test_copy_writes_markers_as_footnotes_with_source_title_span_and_sentence():
    assert answer_markdown(answer()) == (
        "210 people [^1].\n\n"
        f"[^1]: *Quarry news*, news/quarry.txt, characters {START}–{START + len(SENTENCE)}: “{SENTENCE}”")


def test_an_abstention_copies_as_its_reason():
    expected = "No answer in your documents: None of your documents says when the quarry opened."
    assert answer_markdown(abstained()) == expected


def test_export_numbers_footnotes_per_question_so_they_stay_unique():
    text = conversation_markdown([entry(), entry(conv.STOPPED), entry()])
    assert text.startswith("# citeqa conversation\n\n## 1. How many people did the Ashby quarry employ?")
    assert "[^1-1]: *Quarry news*" in text and "[^3-1]: *Quarry news*" in text
    assert "## 2. How many people" in text and "*Stopped before an answer was given.*" in text


# -- the conversation kept in the browser ------------------------------------------------------------------
def test_a_conversation_survives_json():
    kept = [entry(), entry(conv.STOPPED), entry(conv.FAILED)]
    assert conv.restore(json.loads(json.dumps(kept))) == kept


def test_an_answer_cut_off_by_a_reload_is_restored_as_stopped():
    assert conv.restore([entry(conv.ANSWERING)])[0]["state"] == conv.STOPPED


def test_damaged_entries_are_dropped_not_raised():
    forged = entry()
    forged["answer"]["citations"] = [{"marker": "1"}]
    assert conv.restore([forged, {"question": 3}, "x", None, entry()]) == [entry()]
    assert conv.restore({"not": "a list"}) == []


def test_follow_ups_build_on_answers_only():
    history = conv.history([entry(), entry(conv.STOPPED), conv.answered(conv.asking("q"), abstained())])
    assert history == [("How many people did the Ashby quarry employ?", "210 people [1].")]


def test_a_stopped_answer_keeps_its_text_marked_as_stopped():
    stopped = conv.stopped(entry(conv.ANSWERING), "It employed 210")
    shown = chat_messages([stopped])[1]["content"]
    assert "It employed 210" in shown and "Stopped: the answer above is incomplete" in shown


def test_an_answer_stopped_before_its_first_words_says_so():
    shown = chat_messages([entry(conv.STOPPED)])[1]["content"]
    assert "Stopped before any answer was written." in shown


def test_the_stop_mark_is_an_icon_the_page_ships():
    shown = chat_messages([entry(conv.STOPPED)])[1]["content"]
    assert "<svg" in shown and "⏹" not in shown


def test_a_stopped_answer_exports_its_text_as_incomplete():
    text = conversation_markdown([conv.stopped(entry(conv.ANSWERING), "It employed 210")])
    assert "It employed 210\n\n*Stopped: the answer above is incomplete and was not checked.*" in text


def test_before_its_first_words_an_answer_says_it_is_searching():
    assert "Searching your documents…" in render_streaming("")
    assert "Searching" not in render_streaming("It employed")


def test_the_judges_confidence_shows_beside_the_answer():
    assert "82% likely right" in render_answer(answer(probability=0.82), 0)


def test_no_confidence_shows_where_no_judge_ran_nor_beside_a_decline():
    assert "likely right" not in render_answer(answer(probability=None), 0)
    assert "likely right" not in render_answer(abstained(probability=0.14), 0)


def test_the_stored_conversation_is_bounded():
    assert len(conv.restore([entry()] * (conv.MAX_ENTRIES + 5))) == conv.MAX_ENTRIES


# -- the first view ----------------------------------------------------------------------------------------
def document(n: int, title: str = "") -> SimpleNamespace:
    return SimpleNamespace(source=f"news/{n}.txt", title=title, indexed_at=float(n))


def test_the_welcome_names_the_documents_newest_first_and_counts_the_rest():
    shown = render_welcome([document(n, f"<b>Story {n}</b>") for n in range(7)] + [document(7)])
    assert "Ask about your 8 documents" in shown and "and 3 more" in shown
    assert shown.index("news/7.txt") < shown.index("Story 6") and "&lt;b&gt;Story 6" in shown  # escaped
    assert "Story 1" not in shown


def test_the_welcome_of_an_empty_index_says_where_to_add_documents():
    assert "Documents" in render_welcome([]) and "No documents" in render_welcome([])


def test_a_long_answer_shows_as_a_list_of_its_cited_sentences():
    from ui.render import render_answer

    html = render_answer(answer(text="- The pier was unsafe [1].\n- Piles cracked [2].",
                                citations=[citation(1), citation(2)]), 0)
    assert html.count("<li>") == 2 and '<ul class="cq-list"><li>The pier was unsafe <a' in html
