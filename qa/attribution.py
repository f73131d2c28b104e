"""A news sentence often reports a fact through a speaker ("Mr Taylor said the Met will ask a chief officer
…"). The speaker is the answer to "who said …?", not to a question about what was said: a small model
often answers "Which chief officer will chair …?" with the speaker's name."""

from __future__ import annotations

import re

from qa.citations import key_terms, terms

SPEECH_VERB = re.compile(r"\b(said|says|told|added|stated|explained|warned|claimed|commented|insisted)\b", re.I)
# Questions about who spoke, or what someone said or did by speaking (reporting verbs): there the speaker
# may well be the answer ("Which regulator criticised …?" ← "The Charity Commission said … has criticised").
ASKS_SPEAKER = re.compile(
    r"\b(say|says|said|saying|tell|told|call|called|calls|accuse[sd]?|quote[sd]?|vow(?:ed|s)?|warn(?:ed|s)?|"
    r"add(?:ed|s)?|describe[sd]?|according|statement|claim(?:ed|s)?|comment(?:ed|s)?|wr[io]te|insist(?:ed|s)?|"
    r"critici[sz]\w*|condemn\w*|welcom\w*|den(?:y|ied|ies)|admit\w*|urg(?:e|ed|es)|announc\w*|confirm\w*|"
    r"reveal\w*|argu\w*|suggest\w*|respond\w*|repl(?:y|ied|ies)|acknowledg\w*|complain\w*|prais\w*|blam\w*)\b",
    re.I)


def names_the_speaker(claim: str, sentence: str, question: str, max_words: int = 6) -> bool:
    """Whether a short answer is only the speaker of the sentence while the question matches what was said.

    The sentence splits at its first speech verb into the attribution ("Mr Taylor said") and the report.
    The answer is the speaker when all its content is in the attribution and none in the report; the
    question is about the report when it shares more words with the report than with the attribution
    ("Who is Labour's policing spokesperson?" matches "… spokesperson Unmesh Desai said: …").
    """
    if len(claim.split()) > max_words or ASKS_SPEAKER.search(question):
        return False
    verb = SPEECH_VERB.search(sentence)
    if verb is None:
        return False
    attribution, report = terms(sentence[:verb.start()]), terms(sentence[verb.end():])
    answer = key_terms(claim, question)
    if not answer or not answer <= attribution or answer & report:
        return False
    asked = terms(question)
    return len(asked & report) > len(asked & attribution)
