"""Every word list and pattern the answer checks use, in one place.

They are English-only: question words, number words, months, units and reporting verbs are English, and
capitalised words are taken for names, as English writes them. A corpus in another language gets no help
from these rules (the checks that use them then keep what they cannot judge), and would need its own lists
here. One exception: a question asked in another language has that language's function words set aside
(`foreign_function_words`), so that "Quel âge avait Chris Kaba ?" is judged by "âge", "Chris" and "Kaba"
rather than by "quel" and "avait", which no English article holds.
"""

from __future__ import annotations

import re
from functools import cache

import stop_words

# -- numbers --------------------------------------------------------------------------------------------------
NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                 "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000",
                 "billion": "1000000000", "dozen": "12"}
QUANTITY_WORDS = frozenset("dozen dozens hundred hundreds thousand thousands million millions billion billions "
                           "half none".split())

# Units and abbreviations that one article writes one way and another the other way ("115 lb" / "115 lbs").
UNIT_FORMS = {
    "lbs": "lb", "pounds": "lb", "pound": "lb", "kgs": "kg", "kilograms": "kg", "kilogram": "kg",
    "kms": "km", "kilometres": "km", "kilometers": "km", "kilometre": "km", "kilometer": "km",
    "miles": "mi", "mile": "mi", "metres": "m", "meters": "m", "metre": "m", "meter": "m",
    "feet": "ft", "foot": "ft", "inches": "in", "inch": "in", "percent": "%", "pct": "%",
    "mins": "min", "minutes": "min", "minute": "min", "hrs": "hr", "hours": "hr", "hour": "hr",
    "secs": "sec", "seconds": "sec", "second": "sec", "yrs": "yr", "years": "yr", "year": "yr",
    "sq": "square", "st": "street", "ave": "avenue", "mt": "mount", "ft.": "ft",
    "&": "and", "us": "us", "usa": "us", "u.s.": "us", "uk": "uk", "u.k.": "uk",
}
PHRASE_FORMS = [(re.compile(r"\bper\s*cent\b", re.I), "%"), (re.compile(r"\bU\.S\.(?:A\.)?", re.I), "US"),
                (re.compile(r"\bU\.K\.", re.I), "UK")]

# Prepositions and conjunctions a sentence opens with, capitalised there and so read as the start of a name
# ("During World War II"): never the first word of a completed name (qa.quoting).
SENTENCE_OPENERS = frozenset("about after although among as at because before by despite during following "
                             "for from if in like on since though through throughout under unlike until upon "
                             "when whereas while with within without".split())

# -- dates ----------------------------------------------------------------------------------------------------
MONTHS = ("january february march april may june july august september october november december "
          "jan feb mar apr jun jul aug sep sept oct nov dec").split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
DATE_WORDS = frozenset(MONTHS + WEEKDAYS + "yesterday today tomorrow evening morning night week weekend month "
                       "year decade century".split())
DAY_WORDS = frozenset(WEEKDAYS + "yesterday today tomorrow".split())
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
FULL_DATE = re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH})\.?,?\s+\d{{4}}|"
                       rf"(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b", re.I)  # 5 September 2022
ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
YEAR = re.compile(r"(1[0-9]|20)\d\d")  # 1000–2099
DAY_NUMBER = re.compile(r"([1-9]|[12]\d|3[01])(st|nd|rd|th)?")
ORDINAL_DAY = re.compile(r"([1-9]|[12]\d|3[01])(st|nd|rd|th)")  # "the 17th": alone, "17" is any count

# -- questions ------------------------------------------------------------------------------------------------
QUESTION_WORDS = frozenset("how what when where who whom whose why which".split())
AUXILIARIES = frozenset("is are was were do does did can could has have had will would should shall may might "
                        "must".split())
KIND_RULES: list[tuple[re.Pattern[str], str]] = [
    # "Who is Martyn Blake?": the question holds the name and asks what the person is. Capitalised words only,
    # with no "the": "Who is the Home Secretary?" asks for a name.
    (re.compile(r"^\s*(?i:who)\s+(?i:is|was|are|were)\s+[A-Z][\w’'\-.]*(?:\s+[A-Z][\w’'\-.]*)*\s*\??\s*$"),
     "description"),
    (re.compile(r"\b(how (many|much|old|long|far|fast|tall|high|big|large|deep|heavy)|"
                r"what (age|speed|percentage|number|amount|sum|population|size|height|length|weight))\b", re.I),
     "number"),
    (re.compile(r"\b(what|which|in what) year\b", re.I), "year"),
    (re.compile(r"\b(when|what (date|day|month|time)|which (date|day|month)|on what (date|day))\b", re.I), "date"),
    (re.compile(r"^\s*(who|whom|whose)\b|\b(who|whom) (said|is|was|were|will|has|had|did|called|accused|told)\b",
                re.I), "person"),
    (re.compile(r"\bwhat (is|was|are|were) (the|a|an|his|her|its|their|\w+['’]s) (\w+ )?names?\b", re.I), "name"),
    (re.compile(r"^\s*where\b|\bin which (area|town|city|street|country|part|state|county|region)\b|"
                r"\bwhich (street|town|city|country|state|county)\b", re.I), "place"),
]
# Questions that ask for an explanation, an account or a summary, answered in several cited sentences: why, how
# (not how many, old, long…), describe, summarise, what happened, what did someone say, what changes, compare.
EXPLAIN = re.compile(
    r"^\s*(?i:why\b|how\b(?!\s+(?:many|much|old|long|far|fast|tall|high|big|large|deep|heavy|few|often|to)\b)"
    r"|(?:please\s+)?(?:summari[sz]e|describe|explain|outline|compare|list)\b|tell me (?:about|what)\b"
    r"|what\s+(?:\w+\s+){0,3}(?:happened|changes|reasons|steps|measures|criticisms|concerns|arguments|findings)\b"
    r"|what\s+(?:did|does|do|has|have|will)\s+.+?\b(?:say|said|tell|write|find|conclude|argue|want|propose|"
    r"recommend|claim|reveal|announce|ask)\b)"
    r"|^\s*(?i:what\s+(?:is|was|are|were))\s+(?:the\s+)?[A-Z][\w’'\-]*(?:\s+[A-Z][\w’'\-]*)*\s*\??\s*$")
DAY_QUESTION = re.compile(r"\b(what|which) (date|day)\b", re.I)  # asks for a day: a bare year or month won't do
HOW_MANY = re.compile(r"\bhow many\s+([^,;:?.!]+)", re.I)
CHOICE_JOINER = re.compile(r"\s+or\s+(?=\S)", re.I)

# -- names ----------------------------------------------------------------------------------------------------
CAPITALISED = re.compile(r"\b[A-Z][\w’'\-.]*")
NAME_CONNECTORS = frozenset("of the de da del di du von van der la le al bin &".split())
NOT_NAMES = frozenset({"The", "A", "An", "In", "On", "At", "He", "She", "It", "They", "We", "I", "But", "And",
                       "Image", "Pic", "Video", "Read", "More", "Mr", "Mrs", "Ms", "Sir", "Dr", "This", "That",
                       "His", "Her", "Its", "Their", "There", "These", "Those", "What", "Which", "Who", "Whom",
                       "Whose", "When", "Where", "Why", "How", "Is", "Are", "Was", "Were", "Do", "Does", "Did",
                       "Can", "Could", "Has", "Have", "Had", "Will", "Would", "Should", "If", "Both", "Yes", "No"})
TITLE_WORD = re.compile(r"[A-Z][\w’'\-]+")
# Titles written before a name ("Mayor Alice Grant"): part of how a name is written, not of the name.
TITLES = frozenset("""mayor president captain chief minister secretary judge professor prof sergeant sgt councillor
    governor senator detective inspector officer commissioner general colonel major lieutenant admiral bishop
    reverend rev father sister brother lord lady dame sir dr mr mrs ms miss""".split())
PERSON_NAME = r"[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+){0,2}"

# -- answers --------------------------------------------------------------------------------------------------
REFUSAL = re.compile(
    r"\b(i don'?t know|i do not know|unknown|cannot (?:be )?(?:answer|determine)ed?|can't (?:answer|determine)|"
    r"not (?:mentioned|stated|provided|specified|given|available)|no information|"
    r"(?:do|does) not (?:say|mention|specify|contain|provide|state))\b",
    re.IGNORECASE,
)
# First tokens that begin a refusal and little else ("The" begins "The context does not say" and most answers).
REFUSAL_TOKENS = frozenset({"unknown", "unk", "i", "not", "cannot", "none"})
YES_NO = re.compile(r"^\s*(yes|no)\b", re.I)
# Words that carry no fact of their own in an answer ("24 years old", "in the Met", "source 2").
FILLER = frozenset("""year years old aged age source sources context answer mr mrs ms sir also just about around
    only some said say says according both""".split())

# -- speech ---------------------------------------------------------------------------------------------------
SPEECH_VERB = re.compile(r"\b(said|says|told|added|stated|explained|warned|claimed|commented|insisted)\b", re.I)
# Questions about who spoke, or what someone said or did by speaking (reporting verbs): there the speaker
# may well be the answer ("Which regulator criticised …?" ← "The Charity Commission said … has criticised").
ASKS_SPEAKER = re.compile(
    r"\b(say|says|said|saying|tell|told|call|called|calls|accuse[sd]?|quote[sd]?|vow(?:ed|s)?|warn(?:ed|s)?|"
    r"add(?:ed|s)?|describe[sd]?|according|statement|claim(?:ed|s)?|comment(?:ed|s)?|wr[io]te|insist(?:ed|s)?|"
    r"critici[sz]\w*|condemn\w*|welcom\w*|den(?:y|ied|ies)|admit\w*|urg(?:e|ed|es)|announc\w*|confirm\w*|"
    r"reveal\w*|argu\w*|suggest\w*|respond\w*|repl(?:y|ied|ies)|acknowledg\w*|complain\w*|prais\w*|blam\w*)\b",
    re.I)
OPENING_QUOTES = "“\"‘"

# -- follow-ups -----------------------------------------------------------------------------------------------
PERSONAL_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers)\b", re.I)
THING_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that)\b", re.IGNORECASE)
WHO = re.compile(r"^\s*(who|whom|whose)\b", re.IGNORECASE)  # a question whose answer is a person
VAGUE_REFERENCE = re.compile(r"\b(they|them|their|it|its|this|that|there|then)\b", re.I)

# -- example questions written from the documents (ui.phrasing) -----------------------------------------------
EXAMPLE_TITLES = ("Mayor Captain Sergeant Sgt President Judge Professor Inspector Detective Councillor Chief "
                  "Officer").split()
LEADING = set("The A An In On At By For From To Of And But Or So When While After Before As If This That These "
              "Those It He She They We I His Her Its Their Our My Mr Mrs Ms Miss Dr Sir Dame Lord Lady".split()
              + EXAMPLE_TITLES)
HONORIFICS = rf"(?:Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady|{'|'.join(EXAMPLE_TITLES)})\.?"
SPEECH = r"(?:said|says|told|added|wrote)"
ROLES = frozenset("secretary minister mayor president chancellor commissioner chief director officer governor "
                  "judge spokesman spokeswoman spokesperson chairman chairwoman chair editor captain".split())
# Verbs that follow a subject in news text without ending in -ed; a sentence whose subject is followed by
# anything else is not rewritten into a question.
VERBS = frozenset("""is was are were has had have will would can could must may might said says won wins made makes
    took takes told tells gave gives left leads led met meets ran runs wrote writes built builds sold sells found
    began becomes became came comes went goes held holds lost loses paid pays set sets shot put saw sees bought
    brought spent sent kept keeps lives works owns stands fell cut hit let""".split())

# -- documents ------------------------------------------------------------------------------------------------
CAPTION = re.compile(r"^\s*(image|pic|picture|photo|video|watch|read more|more from|listen)\b\s*:?", re.I)
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,60}\b(previous|prior|above|earlier|before|instructions?|prompts?|"
    r"told)\b"
    r"|\b(note|message|instructions?)\s+(to|for)\s+the\s+(assistant|ai|model|chatbot|bot|system)\b"
    r"|^\W*(system|assistant)\s*:"
    r"|\b(respond|reply|answer|say)\s+only\b|\brespond\s+with\b|\btell\s+the\s+user\b"
    r"|\byou are now\b|\bsystem prompt\b|\bnew instructions?\b|\banswer (?:with|only)\b",
    re.IGNORECASE,
)


# -- questions in other languages ---------------------------------------------------------------------------
@cache
def _function_words() -> dict[str, frozenset[str]]:
    return {language: frozenset(stop_words.get_stop_words(language)) for language in stop_words.AVAILABLE_LANGUAGES}


def foreign_function_words(text: str) -> frozenset[str]:
    """The function words of the language whose list holds most of the text's words, unless that is English.

    Short questions defeat statistical language detection; counting function words does not, and English
    keeps every tie, so an English question loses nothing.
    """
    tokens = re.findall(r"\w+", text.lower())
    lists = _function_words()
    language = max(lists, key=lambda name: (sum(t in lists[name] for t in tokens), name == "english"))
    if language == "english":
        return frozenset()
    return frozenset(t for t in tokens if t in lists[language])
