"""Direct quotations and who said them: quote marks paired per paragraph, speakers from the dependency parse.

Rules, not a model: pair quote marks within each paragraph (curly, straight, the doubled '' of some wires,
single marks in headlines), keep the spans that read as direct speech, then find the cue verb ("said",
"told"...) and its subject next to the quote in the parse. Quotes broken by their attribution and quotes
running over several paragraphs share one speaker. Marks that never pair give a quote to the paragraph end
or nothing; they never raise.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from pipeline.extract.part import Part
from pipeline.tables import DOC_ID, Table

if TYPE_CHECKING:  # spaCy is imported by whoever makes the Docs; declaring tables must stay cheap
    from spacy.tokens import Token

# Quote marks: curly doubles, straight doubles, the doubled apostrophe some wires use, single marks.
MARK = re.compile(r"''|[\"“”‘’']")
OPEN_AFTER = set("([{—–-/") | {None}  # chars after which a straight mark opens
CLOSE_BEFORE = set(".,;:!?)]}—–-…") | {None}  # chars before which a straight mark closes
QUOTE_CHARS = "\"“”‘’'"
OPENS_AFTER_PUNCT = set(",:.?!;—–-(" + QUOTE_CHARS)
ENDS_PUNCT = set(",.?!…—–-")
WORD = re.compile(r"\w+")

CUES = frozenset(
    """
    say says said saying tell tells told telling add adds added adding write writes wrote written writing
    ask asks asked asking explain explains explained explaining continue continues continued continuing
    note notes noted noting declare declares declared declaring state states stated stating tweet tweets
    tweeted tweeting insist insists insisted insisting argue argues argued arguing recall recalls recalled
    recalling claim claims claimed claiming warn warns warned warning reply replies replied replying respond
    responds responded responding answer answers answered answering suggest suggests suggested suggesting
    acknowledge acknowledges acknowledged acknowledging admit admits admitted admitting announce announces
    announced announcing joke jokes joked joking quip quips quipped quipping shout shouts shouted shouting
    yell yells yelled yelling scream screams screamed exclaim exclaimed exclaims remark remarks remarked
    observe observes observed observing predict predicts predicted predicting promise promises promised
    vow vows vowed vowing boast boasts boasted boasting complain complains complained complaining concede
    concedes conceded conceding counter counters countered countering recount recounts recounted
    reiterate reiterates reiterated reiterating repeat repeats repeated repeating conclude concludes
    concluded concluding begin begins began beginning describe describes described describing call calls
    called calling post posts posted posting wonder wonders wondered wondering put puts mused muse muses
    charge charges charged charging contend contends contended contending assert asserts asserted
    asserting emphasize emphasizes emphasized emphasizing stress stresses stressed stressing urge urges
    urged urging plead pleads pleaded pleading whisper whispers whispered chant chants chanted chanting
    cry cries cried read reads reading testify testifies testified testifying report reports reported
    reporting tell recall offer offers offered agree agrees agreed agreeing disagree disagreed
    mock mocks mocked mocking retort retorts retorted quote quotes quoted sing sings sang according
    point points pointed pointing echo echoes echoed echoing demand demands demanded demanding interject
    interjects interjected boom boomed booms bark barked barks beam beamed lecture lectured lectures
    scoff scoffed scoffs laugh laughed laughs sigh sighed snap snapped snaps fire fired shot shoot
    assure assured assures confirm confirmed confirms elaborate elaborated elaborates
    """.split()
)
PARTICLE_CUES = frozenset("go goes went going".split())


def _lexicon(table: str) -> dict[str, frozenset[str]]:
    """ "relation:\n    word word..." blocks -> {relation: words}."""
    found: dict[str, set[str]] = {}
    relation = ""
    for line in table.strip().splitlines():
        if line.endswith(":"):
            relation = line[:-1]
        else:
            found.setdefault(relation, set()).update(line.split())
    return {relation: frozenset(words) for relation, words in found.items()}


# Reported speech (reported.py): the complement of which word is what its subject said, thought or wanted, by
# dependency relation: a clause ("said [the talks stalled]": ccomp, for every word of CUES as well), an
# infinitive ("vowed [to fight on]": xcomp), an object ("announced [a plan]": dobj, oprd), a clause on a noun
# ("the claim [that ...]": acl) or a participle ("..., [calling it a disgrace]": advcl), or the object of a
# preposition ("called for [new talks]": the preposition's word). Selected on PolNeAR train (no tagger, so word
# forms): pairs of a form and a relation seen at least 3 times whose complement was annotated as content at
# least 40 % of the time, less the forms that are no reporting words (was, years, percent...).
REPORTED_CUES = _lexicon(
    """
about:
    angry anxiety asked care comment complained concern concerned concerns conversations doubts feel
    joke joked know message nervous note opened pressed questions report serious speak speaking
    speech spoke spoken statement talk talked talking talks think thinking thinks warned words
    worried worries worry wrote
acl:
    accusations action admission advice agreement announcement argument assertion assumption belief
    calls challenges charges claim claims comment comments commitment complaints concern concerns
    confidence contention conversation criticism decision desire determination doubt evidence
    failure fear fears goal hopes idea implication inability inclination insistence intention notion
    obligation pains plan plans pledge point problem promise promises proof proposal proposals
    reality release reluctance remark reminder report reports requests responsibility rumors sense
    sign speculation statement statements suggestion suggestions support tweet unwillingness
    willingness
advcl:
    accuses acknowledged added addressed apologized appeared appears argued ask asked assured
    attacked attributed avoid avoided blamed blasted blocked booed called calling calls campaigned
    caught challenged cheer clear committed compared complained continued criticized declined
    decried defended delivered demurred denied denounced described doubled echoed endorsed escalated
    expand expanded explained expressed facing feel fighting fired focused ignore knowing lashed
    looking managed mocked named opened ordered pleaded pointed praised pressed promised prompted
    proposed prosecuted pursued pushed pushing question railed reacted recalled refused reiterated
    rejected release released releasing remembered replied represent respond responded review said
    say says see sees seized showed sign sounded speak spoken sued suggested supports suspended
    targeted tells tweeted unleashed urged voted vowed warned watching welcomed worded wrote
against:
    allegations campaigning campaigns cautioned discrimination railed railing vote warned
among:
    shows
as:
    attack cast characterized cited cites criticizing defended described describes describing
    dismissed dismissing framed hired identified identify interpreted lambasted listed lists look
    mentioned named paint portray portrayed present quoted referred referring regarded saw see seen
    sees view viewed views
at:
    angry balked bristled hints lashed talking
between:
    argument
by:
    argue concluded launched request respond responded violated
ccomp:
    accept acknowledge acknowledged acknowledges acknowledging added adding adds admit admits
    admitted admitting agree agreed agrees alleged alleging allow allowed allows announced
    announcing appears argue argued argues arguing ask asked asking asserted asserting assume
    assumed assuming assure assured attract aware believe believed believes believing boasted
    captured charged cited claim claimed claiming claims clarifying complain complained concede
    conceded concerned conclude concluded confident confirmed consider considered considering
    considers contends convince convinced decided declare declared declaring demanded demonstrate
    demonstrated denied denounced described determine determined determining discover discuss
    discussed doubt doubted emphasized estimated estimates expect expected expecting expects explain
    explained explaining explains expressed fear fearing fears feel find finding finds forget found
    glad guess hear heard hope hoped hopeful hopes hoping implied implying indicate indicated
    indicates informed insist insisted insisting insists joked joking know knows learned letting
    likely maintained mention note noted notes noticed noting optimistic ordered pledged point
    pointed pointing points posted predict predicted predicting presumptive promised promises
    proposed put question questioned questioning realize realized recalled recognize recognized
    recommended reiterated remarked remarking reminded reminding reminds replied report reported
    reporting reports require responded reveal revealed reveals ruled said say saying says seems
    sees show showed showing shows signaled speculated stated states stating suggest suggested
    suggesting suggests sure suspected tell telling tells testified think thinking thinks thought
    told tweeted understand understands understood want wanted wants warn warned warning watched
    wish wonder wondered wondering worried worries worry writes wrote
dobj:
    acknowledged addressed admire advocating affirm aired alienate allowed announce announced
    announces announcing answer answering appending applaud appoint approved articulated assailed
    attacked authorized begged bemoaned blaming blasted blocked broadcast brushed championed cited
    citing clarify compared conceded condemned condemning confirmed confirming considering consulted
    contradict credited criticized criticizing declare declared declaring declined decried deemed
    defended defunding demands denied denounced denouncing describing detail detailing disavow
    disavowed disclosed discuss discussed dismissed dismisses dismissing displayed displaying
    disputed downplayed echo echoed echoing emphasize emphasized endorsed endorses endorsing
    established explain explained explaining explore express expressed extend facilitated featured
    felt forge hacking hailed highlight highlighted highlighting identified ignore impact implement
    indicated insulting interpret introduce introduces invoked issue issued justify knew knows
    lamented lays learn legalize listing marked marks mention mentioned mentions mocked mocking name
    negotiated noted noting offer opposed opposes outlined outlining passes passing point posed
    posts praise praised praises predicting prefer preferred prohibits projected promising
    pronounced propose proposed proposing published question questioned questioning quoting ratify
    rattled reaffirmed reassure rebuked rebut recall recalling recognize recognized recognizing
    reconsider recounted referenced referencing reflected reform reforming reiterated reject
    rejected rejects released remember reminded render renewed repeat repeated repeating report
    repudiate resist restricting retweeted reveal revealing reveals review roll rule seeks shaping
    shared shown shrugged signaled signals singled sit slamming slams smooth sponsored stated
    stressed submitted suggested supported talked tarnish thanked threaten ticked touted touting
    touts trending tweeted tweeting underscored underscores voiced wanted welcome withdrew withheld
    witness
for:
    advocate advocating apologize apologized applauded argued asked asking attacked blame blamed
    blames blasted bracing call called calling calls chided claim congratulated criticism criticized
    demand deserves enthusiasm given hit hoping ideas known look mocked praise praised precedent
    press proposal proposals pushed pushing reasons resign responsible settle slammed strategy
    thanked voice voted vouched
from:
    distanced passage prohibit refrain said stealing threat
in:
    aggressive believe boasted confident delay denied faith gap interest join provisions recalled
    seeking two
including:
    statements
into:
    forced looking
like:
    did seem seemed seems
of:
    absence accusations accuse accused accuses accusing advocate allies approval architect assured
    aware backer boasted chorus claims clip copies critic critical criticisms critique dangers
    denunciation disclosure discussion displays emblematic embrace enamored endorsement endorsements
    examples fears footage glimpse hope intention interest means mention message midst note policy
    praise promises proof proponent question records resistance search secret sick skeptical slates
    speaking spoke supportive suspected talk title unaware understanding warned wary
on:
    advise advising agree agreed centered comment commented commenting consensus counting criticism
    decision expand focused focusing intent opinion pushed reflecting report seize testimony
    thoughts touched voice weighed
oprd:
    appear appeared appears called calling calls declared deemed dubbed voted
over:
    claim criticism divided
to:
    allegiance amount answer appeals appointed as comparing counter devoted getting give guilty
    likened linking looking pivoted pleaded pledged point pointed pointing points refer references
    referring reply respond stand stuck
with:
    agrees charge concerned contrasting disagrees discomfort empathize found identify pleased
    satisfied shows sided tasked touch unhappy
xcomp:
    advised agreed aimed aiming aims appear appeared appearing appears argued ask asked asking
    believed busy call called calling careful challenged choose choosing claim compelled considered
    considering continued continuing decide decided deciding declined described designed determined
    directed eager encourage encouraged expect expected expecting expects failed finished fit force
    free goes happy hoped hopes hoping intend intended intends keeping known late leaving led like
    looking looks love means meant offered opted ordered permitted plan planned planning plans
    pledge pledged pledging prefer pressed pressure promised promises promising proposed proved push
    pushed pushing ready refuse refused refuses refusing reported requires risk rule say says
    scramble seek seeking seem seemed seems shown shows sought struggling suggested support
    supported supports take telling threaten threatened threatening threatens told urged urges
    urging vote voted voting vowed vowing vows want wanted wanting wants willing
"""
)
ACCORDING = "according"  # "according to X, ...": a cue of its own (the preposition's object speaks)
PRONOUNS = frozenset("he she they it we i you him her them us".split())
PERSON_PRONOUNS = frozenset("he she him her".split())
# confidence: how the speaker was found (a cue verb and its subject is the surest); a quote whose closing mark
# is missing counts for less, and one with no speaker at all is still a quote, just an unattributed one
NO_SPEAKER_CONFIDENCE = 0.5
UNCLOSED_FACTOR = 0.8
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
HEADLINE_TOKENS = 12
SHORT_ATTRIBUTION = 6  # tokens: "an angry Hollande retaliated"
RUN_ON_WORDS = 7  # a quoted sentence, not a phrase: shorter quotes running into text are titles or scare quotes
CLAUSE_END = re.compile(r"[,.;:?!—]|--")
NOT_SPEAKER_DEPS = frozenset({"advmod", "expl", "prep", "punct", "cc", "det", "aux", "mark", "intj"})
MISREAD_SUBJECT_DEPS = frozenset({"compound", "nummod"})
RELATIVES = frozenset({"who", "that", "which"})
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE"})


@dataclass
class Quote:
    start: int
    end: int
    closed: bool  # False: the paragraph ended (or a new quote opened) before a closing mark
    follows: Quote | None = None  # the previous piece of the same quotation (split or multi-paragraph)
    speaker: tuple[int, int] | None = None
    cue: str | None = None
    confidence: float = NO_SPEAKER_CONFIDENCE
    named: tuple[int, int] | None = None  # where the speaker's name is, when the mention is "who"
    hands_over: bool = False  # its attribution follows it, though it does not end on a comma (see runs_on)

    def attribute_to(self, cue: str | None, speaker: Token, tokens: _Tokens, confidence: float) -> None:
        self.cue, self.speaker, self.confidence = cue, mention(speaker, tokens), confidence
        if (name := antecedent(speaker)) is not None:
            self.named = mention(name, tokens)


def quote_rows(part: Part) -> list[dict]:
    """One row per quotation in the document, in text order: direct quotations (or pieces of one) and reported
    speech (reported.py), each with its speaker where found."""
    from pipeline.extract.reported import reported_speech  # it builds on this module's speaker machinery

    text, entities = part.text, part.rows["entities"]  # speakers resolve to entity names
    paired, quotes = direct_quotes(text)
    tokens = _Tokens(part)
    for quote in quotes:
        attribute(text, quote, tokens, context_of(text, quotes, quote))
    share_speakers(text, quotes)
    quoted = [(q.start, q.end) for q in quotes]
    found = [
        (
            "direct",
            q.start,
            q.end,
            q.speaker,
            q.named or q.speaker,
            q.cue,
            q.confidence * (1.0 if q.closed else UNCLOSED_FACTOR),
        )
        for q in quotes
    ]
    found += [
        (r.kind, r.start, r.end, r.speaker, r.named or r.speaker, r.cue, r.confidence)
        for r in reported_speech(part, tokens, quoted, {q.start for q in paired})
    ]
    rows = []
    for kind, start, end, speaker, named, cue, confidence in sorted(found, key=lambda f: (f[1], f[2])):
        rows.append(
            {
                "doc_id": part.doc_id,
                "quote_idx": len(rows),
                "kind": kind,
                "start_char": start,
                "end_char": end,
                "text": text[start:end],
                "speaker": text[speaker[0] : speaker[1]] if speaker else None,
                "speaker_start_char": speaker[0] if speaker else None,
                "speaker_end_char": speaker[1] if speaker else None,
                "speaker_canonical": canonical_speaker(text, named, entities, quoted) if named else None,
                "cue": cue,
                "confidence": round(confidence, 2),
            }
        )
    return rows


# --- pairing quote marks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    form: str  # curly | straight | twin | single
    role: str  # open | close | either


def marks_in(text: str, start: int, end: int) -> list[Mark]:
    """The quote marks of text[start:end] with what their neighbours say about their direction."""
    marks = []
    for m in MARK.finditer(text, start, end):
        char = m.group()
        before = text[m.start() - 1] if m.start() > start else None
        after = text[m.end()] if m.end() < end else None
        before = None if before is not None and before.isspace() else before
        after = None if after is not None and after.isspace() else after
        if char == "“":
            marks.append(Mark(m.start(), m.end(), "curly", "open"))
        elif char == "”":
            marks.append(Mark(m.start(), m.end(), "curly", "close"))
        elif char in ('"', "''"):
            form = "straight" if char == '"' else "twin"
            opens, closes = before in OPEN_AFTER and after is not None, after in CLOSE_BEFORE and before is not None
            role = "open" if opens and not closes else "close" if closes and not opens else "either"
            marks.append(Mark(m.start(), m.end(), form, role))
        elif char == "‘" or (char == "'" and before in OPEN_AFTER and after is not None and after.isalpha()):
            marks.append(Mark(m.start(), m.end(), "single", "open"))
        elif before is not None and after in CLOSE_BEFORE:  # ’ or ' not followed by a letter: maybe a closer
            marks.append(Mark(m.start(), m.end(), "single", "close"))
    return marks


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line, stripped: quotes never run across a line break unmarked."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group()
        if line.strip():
            lead = len(line) - len(line.lstrip())
            spans.append((m.start() + lead, m.start() + len(line.rstrip())))
    return spans


def pair_marks(text: str, start: int, end: int) -> list[Quote]:
    """Outermost quoted spans of one paragraph, marks included; an unclosed one runs to the paragraph end.

    A stack copes with nesting ("..“..”.." or ''..'..'') and with missing marks: an opener of the same form
    while one is open means the first lost its closer; a closer with nothing open is dropped.
    """
    quotes: list[Quote] = []
    stack: list[Mark] = []

    def close_bottom(stop: int, closed: bool) -> None:
        bottom = stack[0]
        stop = bottom.end + len(text[bottom.end : stop].rstrip())
        if stop - bottom.start > bottom.end - bottom.start:
            quotes.append(Quote(bottom.start, stop, closed))
        stack.clear()

    for mark in marks_in(text, start, end):
        if mark.form == "single":
            # single marks are apostrophes more often than not: they only open a quote that starts a
            # paragraph or follows a colon (headlines: Trump: 'We will win'), and only close their own.
            if mark.role == "open" and not stack and _opens_clause(text, start, mark.start):
                stack.append(mark)
            elif mark.role == "close" and stack and stack[-1].form == "single":
                if len(stack) == 1:
                    close_bottom(mark.end, True)
                else:
                    stack.pop()
            continue
        same = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].form == mark.form), None)
        if mark.role == "close" or (mark.role == "either" and same is not None):
            target = same
            if target is None:  # mixed typography: “..." closes whatever is open
                target = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].form != "single"), None)
            if target is None:
                continue  # a closer with nothing open
            if target == 0:
                close_bottom(mark.end, True)
            else:
                del stack[target:]
        elif same is not None:  # an opener of a form already open: that one never closed
            if same == 0:
                close_bottom(mark.start, False)
            else:
                del stack[same:]
            stack.append(mark)
        else:
            stack.append(mark)
    if stack:
        close_bottom(end, False)
    return quotes


def _opens_clause(text: str, start: int, at: int) -> bool:
    before = text[start:at].rstrip()
    return not before or before[-1] == ":"


def find_quotes(text: str) -> list[Quote]:
    """Quoted spans of the whole text; a paragraph that ends inside a quote and a next paragraph that opens
    with a quote mark make one quotation in two pieces."""
    quotes: list[Quote] = []
    previous_open: Quote | None = None
    for start, end in paragraphs(text):
        found = pair_marks(text, start, end)
        if previous_open is not None and found and found[0].start == start:
            found[0].follows = previous_open
        quotes.extend(found)
        previous_open = found[-1] if found and not found[-1].closed and found[-1].end == end else None
    return quotes


# --- which quoted spans are direct speech ----------------------------------------------------------------


def direct_quotes(text: str) -> tuple[list[Quote], list[Quote]]:
    """Every span in paired quote marks, and those of them that are direct speech."""
    paired = find_quotes(text)
    return paired, [q for q in paired if is_direct(text, q) or runs_on(text, q)]


def is_direct(text: str, quote: Quote) -> bool:
    """Direct speech opens a paragraph, a sentence or a clause ("he said: “...”") and ends on punctuation;
    a quoted word or phrase inside running text ("the so-called “deal”") is a scare quote or a title, and a
    paragraph that is a phrase in single marks alone is a subheading ("'Legend in the Coal Fields.'")."""
    line_start = text.rfind("\n", 0, quote.start) + 1
    before = text[line_start : quote.start].rstrip()
    inner = text[quote.start : quote.end].strip(QUOTE_CHARS + " ")
    if not inner:
        return False
    opens = not before or before[-1] in OPENS_AFTER_PUNCT or _last_word(before) in CUES
    line_end = text.find("\n", quote.end)
    rest = text[quote.end : line_end if line_end >= 0 else len(text)]
    single = text[quote.start] in "‘'" and not text.startswith("''", quote.start)
    if single and not before and not rest.strip():
        return False
    # headlines drop the full stop: Trump: 'We will win'
    ends = inner[-1] in ENDS_PUNCT or not quote.closed or not rest.strip()
    return opens and ends


def runs_on(text: str, quote: Quote) -> bool:
    """A sentence in quote marks that the text runs on from without punctuation is direct speech that goes on
    to the clause's end, as a reader (and the gold) take it: “We don't teach anything” against homosexuality,
    he said. The quote grows to the end of that clause, unless the clause is its attribution with the comma
    left out (“The Iowa caucus is a battle of niches” Grubbs said): then it hands over to it."""
    inner = text[quote.start : quote.end].strip(QUOTE_CHARS + " ")
    if len(inner.split()) < RUN_ON_WORDS or not inner[:1].isupper() or inner[-1] in ENDS_PUNCT:
        return False
    line_end = text.find("\n", quote.end)
    rest = text[quote.end : line_end if line_end >= 0 else len(text)]
    if not rest.strip()[:1].isalnum():
        return False
    clause_end = CLAUSE_END.search(rest)
    clause = rest[: clause_end.start() if clause_end else len(rest)].rstrip()
    if any(word.lower() in CUES for word in WORD.findall(clause)):
        quote.hands_over = True
    else:
        quote.end += len(clause)
    return True


def _last_word(text: str) -> str | None:
    words = WORD.findall(text[-40:])
    return words[-1].lower() if words else None


# --- speakers ----------------------------------------------------------------------------------------------

NOUN_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "compound", "amod", "attr", "appos", "poss", "npadvmod"})
SENTENCE_PUNCT = frozenset({".", "?", "!", ";"})
DASHES = frozenset({"―", "—", "–", "-", "--"})
AFTER_TOKENS = 30  # an attribution after a quote is short: ", Mr. Smith, the campaign's spokesman, said"


class _Tokens:
    """The Doc's tokens with their character offsets, in text order, for finding those within a span."""

    def __init__(self, part: Part) -> None:
        self.doc, self.offsets = part.doc, part.tokens

    def between(self, start: int, end: int) -> list[Token]:
        """Tokens lying wholly inside [start, end), layout whitespace left out."""
        offsets = self.offsets
        i = bisect_left(offsets.starts, start)
        found = []
        while i < len(offsets.starts) and offsets.ends[i] <= end:
            if not offsets.is_space[i]:
                found.append(self.doc[i])
            i += 1
        return found


@dataclass(frozen=True)
class Context:
    """Where a quote's attribution may be: its paragraph between the direct quotes either side (reaching
    into the paragraph before when that one ends with a colon), never inside a direct quote."""

    left: int
    right: int
    quoted: tuple[tuple[int, int], ...]

    def allows(self, char: int) -> bool:
        return self.left <= char < self.right and not any(a <= char < b for a, b in self.quoted)


def context_of(text: str, quotes: list[Quote], quote: Quote) -> Context:
    line_start = text.rfind("\n", 0, quote.start) + 1
    line_end = text.find("\n", quote.end)
    line_end = len(text) if line_end < 0 else line_end
    left = max((q.end for q in quotes if line_start <= q.end <= quote.start), default=line_start)
    right = min((q.start for q in quotes if quote.end <= q.start <= line_end), default=line_end)
    if not text[left : quote.start].strip():
        # a paragraph that is all quote may be announced by the paragraph before: "Smith said:"
        previous_end = len(text[:left].rstrip())
        if previous_end and text[previous_end - 1] == ":":
            left = text.rfind("\n", 0, previous_end) + 1
    return Context(left, right, tuple((q.start, q.end) for q in quotes if q.end > left and q.start < right))


def attribute(text: str, quote: Quote, tokens: _Tokens, context: Context) -> None:
    """Find the cue and speaker of one quote in the text next to it."""
    after = _sentence(tokens.between(quote.end, context.right))[:AFTER_TOKENS]
    before_all = list(reversed(tokens.between(context.left, quote.start)))
    before = _sentence(before_all)
    inner = text[quote.start : quote.end].rstrip(QUOTE_CHARS + " ")
    # a quote ending on a comma hands over to its attribution; one ending on a full stop was announced before
    hands_over = quote.hands_over or inner.endswith((",", "?", "!", "—", "-"))
    sides = [("after", after), ("before", before)]
    for side, window in sides if hands_over else reversed(sides):
        if found := _cue_and_speaker(window, side, context, tokens):
            quote.attribute_to(found[0].text, found[1], tokens, 0.9)
            return
    # a short clause after a quote that hands over is its attribution, whatever the verb: “...,” Hollande
    # retaliated. / “...,” the mayor fired back.
    if hands_over and 0 < len(after) <= SHORT_ATTRIBUTION:
        verbs = [t for t in after if any(c.dep_ in SUBJECT_DEPS and context.allows(c.idx) for c in t.children)]
        if len(verbs) == 1 and (subject := subject_of(verbs[0], lambda t: context.allows(t.idx))) is not None:
            quote.attribute_to(verbs[0].text, subject, tokens, 0.75)
            return
    # the sentence before, when it is an attribution of its own: ''...,'' Mr. Hedge said. ''...''
    if found := _cue_and_speaker(_sentence(before_all[len(before) + 1 :]), "before", context, tokens):
        quote.attribute_to(found[0].text, found[1], tokens, 0.75)
        return
    if before and before[0].text == ":":
        # a colon with no cue verb: "Trump: 'We will win'", "Transcript as follows:"
        if subject := _colon_speaker(before[1:]):
            quote.attribute_to(":", subject, tokens, 0.6)
            return
    # a signature after the quote: “...” ― Jane Doe; the dash may stick to the closing mark (“...”― Jane Doe),
    # and the tokenizer then leaves it in the mark's token, outside `after`
    if text[quote.end :].lstrip(" \t\xa0").startswith(tuple(DASHES)):
        signed = after[1:] if after and after[0].text in DASHES else after
        if name := next((t for t in signed[:3] if t.ent_type_ in SPEAKER_LABELS), None):
            quote.attribute_to(None, name, tokens, 0.7)


def _cue_and_speaker(window: list[Token], side: str, context: Context, tokens: _Tokens) -> tuple[Token, Token] | None:
    """The nearest cue verb in the window (tokens in order away from the quote) and its speaker."""
    for k, token in enumerate(window):
        if not _is_cue(token):
            continue
        subject = subject_of(token, lambda t: context.allows(t.idx))
        # the words between the quote and the cue: “...,” Jane Doe, a spokeswoman, said
        between = [t for t in window[:k] if not t.is_punct and not t.is_space]
        if side == "after" and between and (subject is None or subject not in between):
            subject = _first_speaker_like(between) or subject
        if subject is None:
            # the parser missed the subject: the nearest name or pronoun on the far side of the cue
            subject = _first_speaker_like(window[k + 1 : k + 4] if side == "after" else window[k + 1 :])
        if subject is not None:
            return token, subject
    return None


def _first_speaker_like(window: Sequence[Token]) -> Token | None:
    return next((t for t in window if t.ent_type_ in SPEAKER_LABELS or t.lower_ in PRONOUNS), None)


def _colon_speaker(before: list[Token]) -> Token | None:
    """Who speaks in "X: “...”" (before: the tokens before the colon, nearest first)."""
    if not before:
        return None
    root = before[0].sent.root
    subject = next((c for c in root.children if c.dep_ in SUBJECT_DEPS and c in before), None)
    if subject is not None and _first_speaker_like([subject]) is None:
        # a headline's subject that cannot speak: "A lesson from Loretta Lynch: '...'" is hers
        subject = next((t for t in reversed(before) if t.ent_type_ == "PERSON"), subject)
    if subject is not None:
        return subject
    last = before[0]
    if last.ent_type_ in SPEAKER_LABELS or last.lower_ in PRONOUNS:
        return last
    # a headline the model reads no name in ("CNN President On Trump: ‘...’", "Partial transcript as
    # follows:"): the first phrase head of a short lead-in
    phrase = before[::-1]
    if len(phrase) > HEADLINE_TOKENS:
        return None
    heads = (t for t in phrase if (t.head.i == t.i or t.head not in phrase) and t.dep_ not in NOT_SPEAKER_DEPS)
    return next(heads, None)


def _sentence(tokens: list[Token]) -> list[Token]:
    """The tokens up to the first sentence end (tokens may run backwards)."""
    for k, token in enumerate(tokens):
        if token.text in SENTENCE_PUNCT:
            return tokens[:k]
    return tokens


def _is_cue(token: Token) -> bool:
    if token.dep_ in NOUN_DEPS:
        return False
    # "he went on", "she goes on": a cue only with its particle
    return token.lower_ in CUES or (token.lower_ in PARTICLE_CUES and any(c.lower_ == "on" for c in token.children))


def subject_of(cue: Token, usable: Callable[[Token], bool]) -> Token | None:
    """The speaker token of a cue verb, among usable tokens (the parser sometimes makes a word of the quote
    the subject): its subject, the subject of the verb it is coordinated with or hangs on by a preposition
    ("Blige sings to Clinton before asking her"), or the object of "according to". A relative pronoun is the
    mention ("Smith, [who] said", as the PolNeAR gold marks it); antecedent() gives the name it refers to."""
    if cue.lower_ == "according":
        return next((o for prep in cue.children for o in prep.children if o.dep_ == "pobj" and usable(o)), None)
    for _ in range(3):
        subject = next((c for c in cue.children if c.dep_ in SUBJECT_DEPS and usable(c)), None)
        if subject is not None:
            return subject
        # the parser took the subject for a modifier of the verb: "[Trump] predicts", "About 4 in [10] say"
        mislabelled = [c for c in cue.lefts if c.dep_ in MISREAD_SUBJECT_DEPS and usable(c)]
        if mislabelled:
            return mislabelled[-1]
        if cue.dep_ == "conj" and cue.head.dep_ == "ccomp" and cue.head.head.lower_ in CUES:
            # "Wierzbicki said [the pumps had failed] and told reporters ...": the parse hangs the second cue on
            # the first one's content; it shares the first cue's speaker, not the content's subject
            cue = cue.head.head
        elif cue.dep_ in ("conj", "xcomp", "advcl"):
            cue = cue.head
        elif cue.dep_ == "pcomp" and cue.head.dep_ == "prep":
            cue = cue.head.head  # "before asking her": the verb the preposition hangs on
        else:
            break
    return None


def antecedent(token: Token) -> Token | None:
    """The noun a relative pronoun subject refers to ("Smith" in "Smith, who said"), else None."""
    if token.lower_ in RELATIVES and token.head.dep_ == "relcl":
        return token.head.head
    return None


def mention(token: Token, tokens: _Tokens) -> tuple[int, int]:
    """Character span of the speaker's mention: the head noun with its modifiers to the left, widened to
    a named entity it is part of ("pollster Pat Caddell", "a campaign aide", "he")."""
    first = token
    while first.i > 0:
        left = first.doc[first.i - 1]
        if left.is_punct or left.is_space or not (left.left_edge.i >= token.left_edge.i and left.i < token.i):
            break
        first = left
    last = token
    if token.ent_type_:  # the entity's bounds from the IOB tags: doc.ents would build every entity each time
        doc, start, end = token.doc, token.i, token.i + 1
        while start > 0 and doc[start].ent_iob_ == "I":
            start -= 1
        while end < len(doc) and doc[end].ent_iob_ == "I":
            end += 1
        first = min(first, doc[start], key=lambda t: t.i)
        last = doc[end - 1]
    # an entity may take in punctuation at its edges: a signature's dash ("― Jane Doe"), "Omar Haddad: '"
    while first.is_punct and first.i < last.i:
        first = first.doc[first.i + 1]
    while last.is_punct and last.i > first.i:
        last = last.doc[last.i - 1]
    return first.idx, last.idx + len(last)


def share_speakers(text: str, quotes: list[Quote]) -> None:
    """Pieces with no attribution of their own take the one of the piece they continue: the previous piece
    of the same paragraph (“A,” he said. “B.”), or of the paragraph before when this one opens with a quote
    (a quotation running over paragraphs, or a run of quoted paragraphs)."""
    previous: Quote | None = None
    for quote in quotes:
        if quote.speaker is None and previous is not None and previous.speaker is not None:
            same_paragraph = "\n" not in text[previous.end : quote.start]
            opens_paragraph = quote.start == 0 or text[quote.start - 1] == "\n"
            if same_paragraph or quote.follows is previous or opens_paragraph:
                quote.speaker, quote.cue, quote.named = previous.speaker, previous.cue, previous.named
                quote.confidence = previous.confidence * 0.9
        previous = quote


def canonical_speaker(
    text: str, speaker: tuple[int, int], entities: list[dict], quoted: Sequence[tuple[int, int]]
) -> str | None:
    """The document's name for the speaker: the canonical name of a named entity in the mention ("pollster
    Pat Caddell", "Miller" -> "Matthew Miller"), for he/she the nearest person named before it outside
    quotes, for a bare surname the one full name that ends with it; None when the text does not say."""
    start, end = speaker
    inside = [e for e in entities if e["start_char"] < end and start < e["end_char"] and e["label"] in SPEAKER_LABELS]
    if inside:
        people = [e for e in inside if e["label"] == "PERSON"]
        return (people or inside)[-1]["canonical"]
    words = text[start:end].split()
    if len(words) == 1 and words[0].lower() in PERSON_PRONOUNS:
        earlier = [
            e
            for e in entities
            if e["label"] == "PERSON"
            and e["end_char"] <= start
            and not any(a <= e["start_char"] < b for a, b in quoted)
        ]
        return earlier[-1]["canonical"] if earlier else None
    if words and words[-1][:1].isupper() and words[-1].lower() not in PRONOUNS:
        full = {e["canonical"] for e in entities if e["label"] == "PERSON" and e["canonical"].split()[-1] == words[-1]}
        if len(full) == 1:
            return full.pop()
    return None


CUE_WORDS = CUES | PARTICLE_CUES | frozenset().union(*REPORTED_CUES.values()) | {ACCORDING}


def needs_parse(text: str) -> bool:
    """Whether a sentence needs the dependency parse for the quotes table: it has a quote mark (a direct
    quotation, or the end of one, whose attribution the parse finds) or a word that may report speech (CUES,
    REPORTED_CUES, "according"). Quotes of a sentence without either come from neighbouring sentences' parses
    only, so a later change may skip the parser on the others (issue 19); nothing calls this yet."""
    return MARK.search(text) is not None or any(word.lower() in CUE_WORDS for word in WORD.findall(text))


__all__ = ["quote_rows", "find_quotes", "needs_parse"]


QUOTES = Table(
    "quotes",
    "Quotations with their speaker: direct (in quote marks) and indirect (reported speech).",
    (
        DOC_ID,
        ("quote_idx", pa.int32(), "0, 1, 2... in text order"),
        ("kind", pa.string(), "direct (in quote marks) or indirect (reported speech: what a cue verb reports)"),
        ("start_char", pa.int64(), "where the quotation starts in documents.text (a direct one: its opening mark)"),
        ("end_char", pa.int64(), "where it ends (exclusive; a direct one: after its closing mark)"),
        ("text", pa.string(), "the quotation, marks included; for reported speech, the reported clause"),
        ("speaker", pa.string(), "the speaker as written (may be a pronoun); null if none was found"),
        ("speaker_start_char", pa.int64(), "where the speaker's mention starts"),
        ("speaker_end_char", pa.int64(), "where it ends (exclusive)"),
        ("speaker_canonical", pa.string(), 'the document-level name ("he" -> "Clara Hoffmann")'),
        ("cue", pa.string(), 'the verb or phrase introducing it ("said", "told", "according to", ":"); null if none'),
        (
            "confidence",
            pa.float32(),
            "how sure: 0.9 for a cue verb and its subject, less otherwise; for reported speech the learned scorer "
            "found, its probability",
        ),
    ),
    index="quote_idx",
    extract=quote_rows,
)
