"""Questions a person would ask about a document, written from the document's own sentences.

The names a document mentions most are asked about in the forms people use, best first:
- the name asked for, from a sentence whose subject it is: "Who said the crossings would run hourly?",
  "Which ferry resumed its crossings on Monday after a storm?";
- "How old is Ines Marlow?" where an age is written beside the name;
- "When was the Dunmore Botanic Garden founded?", "Where was Ada Lune arrested?" from "… was founded in 1901";
- "Who is the Home Secretary?" for a role.
Each asks for a fact, as the seed questions do; a name fitting none of these gets no question: never what a name
is ("Who is Ines Marlow?", "What is the Kelby Ferry?"), nor "What do the documents say about …?". English only.
`ui.examples` offers a question only once it was answered with a citation that names its subject.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from qa.lexicon import EXAMPLE_TITLES as TITLES
from qa.lexicon import HONORIFICS, LEADING, ROLES, SPEECH, VERBS

WORD = r"[A-Z][a-z][\w’'\-]*"
NAME = re.compile(rf"\b{WORD}(?: {WORD}){{1,3}}\b")  # two to four capitalised words on one line
CLAUSE_BREAK = re.compile(r"\s*(?:[,;:]| – | — | - )")  # a predicate ends at the first one
QUOTE = re.compile(r"[()“”\"‘]")  # a predicate that runs into a quotation or an aside is not asked
MAX_PREDICATE_WORDS = 12
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MONTHS = ("(?:January|February|March|April|May|June|July|August|September|October|November|December|Monday|"
          "Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)")


class Candidate(NamedTuple):
    """A question, and the name a cited sentence must mention for it to be offered ("" for none)."""

    question: str
    subject: str = ""


def stands_alone(part: str, text: str) -> bool:
    """Mentioned at least once without a capitalised word either side: "Ines Marlow, 52", but not
    "National Police" of "the National Police Chiefs’ Council"."""
    for match in re.finditer(rf"\b{re.escape(part)}\b", text):
        before = text[:match.start()].split()
        if (not before or not before[-1][:1].isupper()) and not re.match(r"\s[A-Z]", text[match.end():]):
            return True
    return False


def shortest_form(name: str, text: str) -> str:
    """A name without a word that only sometimes goes with it ("Later Ada Lune", "Captain Ines Marlow"):
    the part of two or more words mentioned more often than the whole, and at least once on its own."""
    words = name.split()
    parts = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)]
    parts = [part for part in parts if part == name or stands_alone(part, text)]
    best = max(parts, key=lambda part: (text.count(part), len(part)))
    return best if text.count(best) > text.count(name) else name


def names(text: str) -> list[str]:
    """Capitalised names of two or more words, most mentioned first (then first mentioned)."""
    found: list[str] = []
    for match in NAME.finditer(text):
        words = match.group().split()
        words[-1] = re.sub(r"[’']s?$", "", words[-1])  # "the Home Secretary’s review": the name, not its possessive
        while words and words[0] in LEADING:
            words.pop(0)
        if len(words) >= 2:
            found.append(shortest_form(" ".join(words), text))
    counts = {name: text.count(name) for name in found}
    return sorted(counts, key=lambda n: (-counts[n], found.index(n)))


def is_person(name: str, text: str) -> bool:
    """Written as a person's name: with an honorific, an age, or as who said something."""
    first, last = re.escape(name.split()[0]), re.escape(name.split()[-1])
    quoted = re.escape(name)
    return bool(re.search(rf"\b{HONORIFICS} (?:{first} )?{last}\b|\b{quoted},? {SPEECH}\b|\b{SPEECH} {quoted}\b"
                          rf"|\b(?:{quoted}|{last}), (?:aged )?\d{{1,3}},", text))


def with_article(name: str, text: str) -> bool:
    """Written as a thing: "the Kelby Ferry" at least as often as the bare name elsewhere."""
    return len(re.findall(rf"\b[Tt]he {re.escape(name)}\b", text)) * 2 >= text.count(name)


def is_verb(word: str) -> bool:
    return word in VERBS or (len(word) > 4 and word.endswith("ed"))


def predicate(rest: str) -> str | None:
    """What a sentence says of its subject, as the rest of a question: up to the first clause break, short."""
    rest = CLAUSE_BREAK.split(rest.strip(), maxsplit=1)[0].rstrip(" .!?")
    words = rest.split()
    if QUOTE.search(rest):
        return None
    if len(words) < 2 or len(words) > MAX_PREDICATE_WORDS or not is_verb(words[0]):
        return None
    while words[-1].lower() in {"and", "or", "but", "of", "the", "a", "an", "to", "in", "on", "at", "by", "for"}:
        words.pop()
    return " ".join(words) if len(words) >= 2 else None


def subject_question(name: str, asker: str, text: str) -> str | None:
    """"<asker> <predicate>?" from the first sentence that begins with `name` (after "The" or a title),
    followed by a verb: an aside such as ", 52," is skipped, a place such as "in Eastport" kept."""
    opening = re.compile(rf"^(?:[Tt]he )?(?:[A-Z][\w’'\-]*\.? ){{0,2}}?{re.escape(name)}"
                         rf"(?:, [^,]{{1,40}},)?( (?:in|at|of) [A-Z][\w’'\-]*(?: [A-Z][\w’'\-]*)?)? (.+)$")
    for sentence in SENTENCE_END.split(text):
        match = opening.match(sentence.strip())
        said = predicate(match.group(2)) if match else None
        if said:
            return f"{asker}{match.group(1) or ''} {said}?"
    return None


def passive_question(name: str, text: str) -> str | None:
    """"When was <name> <done>?" or "Where …?" from a sentence saying "<name> was <done> in 1901" or "… in
    Streatham Hill": a fact asked for, with the verb as the sentence has it (no inflection to get wrong)."""
    said = re.compile(rf"(?:^|[^\w’'])((?:[Tt]he )?{re.escape(name)}) (?:was|were) ((?:\w+ly )?\w+ed) "
                      rf"(?:on|in|at) ((?:\d{{1,2}} )?[A-Z][\w’'\-]*|\d{{4}})")
    for sentence in SENTENCE_END.split(text):
        match = said.search(sentence.strip())
        if match:
            place = re.fullmatch(rf"{MONTHS}|\d{{1,2}} \w+|\d{{4}}", match.group(3)) is None
            subject = re.sub(r"^The ", "the ", match.group(1))
            return f"{'Where' if place else 'When'} was {subject} {match.group(2)}?"
    return None


def questions_about(name: str, text: str) -> list[Candidate]:
    """The questions about one name that ask for a fact, best first (empty when none fits it): never what a name
    is ("Who is Chris Kaba?"), only who holds a role."""
    forms: list[str | None] = []
    head = name.split()[-1]
    if with_article(name, text):  # before is_person: "the Police Federation said" is not a person
        if head.lower() in ROLES:
            forms.append(f"Who is the {name}?")
        else:
            forms += [subject_question(name, f"Which {head.lower()}", text), passive_question(name, text)]
    elif is_person(name, text):
        age = re.search(rf"\b(?:{re.escape(name)}|{re.escape(head)}), (?:aged )?\d{{1,3}},", text)
        forms += [subject_question(name, "Who", text), f"How old is {name}?" if age else None,
                  passive_question(name, text)]
    return [Candidate(form, name) for form in forms if form]


def document_questions(text: str, limit: int) -> list[list[Candidate]]:
    """For the `limit` most mentioned names that a question fits: each name's questions, best first."""
    found = []
    for name in names(text):
        questions = questions_about(name, text)
        if questions:
            found.append(questions)
        if len(found) == limit:
            break
    return found
