"""The long-answer evaluation: its sets, halves and scores, on invented articles."""

from eval.longform import build_news, covered, in_half, load_seeds, score, subject, summary_points
from qa.answer import Citation


def test_the_seed_set_has_thirty_questions_each_with_points():
    questions = load_seeds()
    assert len(questions) >= 30 and all(len(q.points) >= 2 for q in questions)


def test_halves_split_by_the_parity_of_the_id():
    assert in_half("l004", "tune") and in_half("l005", "check") and not in_half("l005", "tune")


def test_a_point_is_covered_when_the_answer_holds_most_of_its_terms():
    assert covered("the pier was unsafe after a storm", "The council said the pier was unsafe after the storm.")
    assert not covered("engineers found cracks in two piles", "The pier was unsafe after a storm.")


def test_an_answer_is_scored_by_its_points_and_its_supported_sentences():
    text = "The pier was unsafe after a storm [1]. The mayor resigned [1]."
    cited = [Citation(1, "a.txt", "A", "It said the pier was unsafe after a storm.", 0, 43)]
    scored = score(load_seeds()[0].__class__("x", "Why?", ("the pier was unsafe after a storm", "cracks in piles")),
                   text, cited, False, lambda source: "It said the pier was unsafe after a storm. More.")
    assert (scored["covered"], scored["points"], scored["supported"], scored["sentences"]) == (1, 2, 1, 2)


def test_a_news_question_names_what_its_summary_and_article_share():
    article = "Ines Marlow runs the Kelby Ferry. Ines Marlow said the Kelby Ferry would reopen. Bob came."
    assert subject(article, "Ines Marlow reopens the Kelby Ferry.") == "Ines Marlow and Kelby Ferry"


def test_the_news_set_draws_one_half_below_the_development_limit(tmp_path):
    article = " ".join(["Ines Marlow said the Kelby Ferry would reopen on Monday after repairs."] * 20)
    rows = [{"document": article.replace("Kelby", f"Kelby{n}"),
             "right_summary": f"Ines Marlow reopens the Kelby{n} Ferry. Repairs took a week."} for n in range(30)]
    documents, questions = build_news(tmp_path, "check", questions=5, passages=12, rows=rows)
    assert len(questions) == 5 and all(int(q.id[1:]) % 2 == 1 for q in questions)
    assert len(list(documents.iterdir())) == 12 and questions[0].points == summary_points(
        rows[int(questions[0].id[1:])]["right_summary"])
