"""Match incoming bank credits to open items: pure logic, no database.

The matcher is deliberately conservative: a ``HIGH`` match is meant to close items without a
human, so it is given only when exactly one explanation of the credit exists among the facts
it looked at (the document numbers quoted in the remittance, or the payer's open items); every
doubt lowers the confidence and the alternatives are returned as suggestions. Items are
indexed by customer, by amount in cents and by normalised document number, so a batch costs
roughly O(credits + items), never O(credits x items).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum

#: How many of a customer's items (oldest first) the combination search looks at. 2**(N/2)
#: subsets per half in the meet-in-the-middle search: 20 items -> 2 x 1,024 sums.
MAX_COMBINATION_ITEMS = 20
#: Alternatives kept per match.
MAX_SUGGESTIONS = 5

# Words that introduce a document number ("FT 123", "Fatt. n. 123", "N° 123", "nr.123").
PREFIXES = frozenset(
    {
        "FT", "FATT", "FATTURA", "FATTURE", "FAT", "FATTURAZIONE", "FAC", "FT.", "N", "NR",
        "NRO", "NUM", "NUMERO", "NO", "DOC", "DOCUMENTO", "RIF", "RIFERIMENTO", "INV",
        "INVOICE", "FTT", "FTE", "FE", "FV", "ND", "NC", "NOTA",
    }
)  # fmt: skip
# Legal forms dropped from payer names ("Rossi S.r.l." and "ROSSI SRL" are the same payer).
LEGAL_FORMS = frozenset(
    {
        "SRL", "SRLS", "SPA", "SNC", "SAS", "SAPA", "SS", "SCARL", "SCRL", "SCPA", "COOP",
        "SOC", "SOCIETA", "COOPERATIVA", "UNIPERSONALE", "LTD", "GMBH", "SA", "SARL", "BV",
        "NV", "AG", "INC", "LLC", "SL", "SAU",
    }
)  # fmt: skip
# Numeric document numbers shorter than this need a prefix nearby ("fatt. 12"), so a bare
# "12" in free text (a quantity, a day) is not taken for a document number.
_SHORT_NUMBER = 3
_PREFIX_WINDOW = 6

# Things in a remittance whose digits must never be read as document numbers.
_NOISE = (
    re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b"),  # IBAN, compact
    re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){3,7}(?: [A-Z0-9]{1,3})?\b"),  # IBAN, grouped
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),  # ISO date
    re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"),  # 31/12/2026, 31.12.26
    re.compile(r"(?<![\w.,])\d{1,3}(?:[.' ]\d{3})+[.,]\d{2}(?![\d])"),  # 1.234,56  1 234,56
    re.compile(r"(?<![\w.,])\d+[.,]\d{2}(?![\d.,])"),  # 1234,56  1234.56
)
_TOKEN = re.compile(r"[A-Z]+|\d+")


class Confidence(IntEnum):
    """How sure the matcher is; ``HIGH`` closes items at once, the rest is proposed."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True, slots=True)
class Credit:
    """One incoming payment from a bank statement."""

    key: str
    amount: Decimal
    booking_date: dt.date
    payer_name: str = ""
    payer_iban: str = ""
    remittance: str = ""
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"credit {self.key}: amount must be positive, got {self.amount}")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One open installment; a negative ``open_amount`` is a credit note."""

    item_id: Hashable
    customer_id: Hashable
    document_number: str
    document_date: dt.date
    due_date: dt.date
    open_amount: Decimal


@dataclass(frozen=True, slots=True)
class KnownPayers:
    """What the company knows about who pays for whom (IBANs and names per customer)."""

    customers_by_iban: Mapping[str, Hashable] = field(default_factory=dict)
    names_by_customer: Mapping[Hashable, Iterable[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Allocation:
    item_id: Hashable
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Reason:
    """A machine code (stable, for filters and tests) and an English explanation."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An alternative reading of a credit that a human may pick."""

    customer_id: Hashable
    allocations: tuple[Allocation, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's reading of one credit: ``sum(allocations) + remainder == amount``."""

    credit_key: str
    customer_id: Hashable | None
    confidence: Confidence
    allocations: tuple[Allocation, ...]
    reasons: tuple[Reason, ...]
    remainder: Decimal
    suggestions: tuple[Suggestion, ...] = ()

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal("0.00"))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


# --- normalisation -------------------------------------------------------------------------


def _ascii_upper(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def normalise_iban(iban: str) -> str:
    """Upper case without spaces: IBANs are printed in groups of four."""
    return re.sub(r"[^A-Z0-9]", "", (iban or "").upper())


def normalise_name(name: str) -> str:
    """Upper-case ASCII words without punctuation or legal form, for exact comparison."""
    text = _ascii_upper(name).replace(".", "")
    words = [w for w in re.split(r"[^A-Z0-9]+", text) if w and w not in LEGAL_FORMS]
    return " ".join(words)


def _norm_token(tok: str) -> str:
    return (tok.lstrip("0") or "0") if tok.isdigit() else tok


@dataclass(frozen=True, slots=True)
class _Token:
    value: str  # normalised (leading zeros stripped)
    raw: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(_norm_token(m.group()), m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)
    ]


def document_key(number: str, year: int | None = None) -> tuple[str, ...]:
    """The comparable core of a document number: "FT 00123/2026", "123-26", "n.123" -> ("123",).

    Prefix words and the document's own year are dropped, leading zeros stripped, letters and
    digits split ("A123" -> ("A", "123")), so spaces, slashes and dashes do not matter.
    """
    text = _ascii_upper(number)
    toks = _tokens(text)
    while len(toks) > 1 and toks[0].value in PREFIXES:
        toks = toks[1:]
    if year is not None and len(toks) > 1:
        last, first = toks[-1], toks[0]
        if last.raw.isdigit() and _is_year(last.raw, year):
            toks = toks[:-1]
        elif first.raw.isdigit() and len(first.raw) == 4 and int(first.raw) == year:
            toks = toks[1:]
    return tuple(t.value for t in toks)


def _is_year(raw: str, year: int) -> bool:
    return (len(raw) == 4 and int(raw) == year) or (len(raw) == 2 and int(raw) == year % 100)


def _year_like(raw: str, year: int) -> bool:
    """Whether a number next to a document number reads as a year (then it must agree)."""
    if len(raw) == 4:
        return 1990 <= int(raw) <= 2099
    if len(raw) == 2:
        return year % 100 - 5 <= int(raw) <= year % 100 + 1
    return False


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _oldest(item: OpenItem) -> tuple:
    return (item.due_date, item.document_date, str(item.item_id))


# --- combinations --------------------------------------------------------------------------


def exact_subsets(
    amounts: Sequence[int], target: int, limit: int = MAX_SUGGESTIONS + 1
) -> list[tuple[int, ...]]:
    """Up to ``limit`` non-empty index sets whose amounts sum to ``target`` (meet in the middle).

    Exhaustive for the given amounts: when it returns one set, no other set exists. Sets come
    smallest first, then by their indexes, so the result is deterministic.
    """
    n = len(amounts)
    half = n // 2
    left, right = amounts[:half], amounts[half:]

    def sums(part: Sequence[int], offset: int) -> dict[int, list[tuple[int, ...]]]:
        table: dict[int, list[tuple[int, ...]]] = defaultdict(list)
        table[0].append(())
        for i, value in enumerate(part):
            for total, sets in [(t, list(ss)) for t, ss in table.items()]:
                for s in sets[: limit + 1]:
                    table[total + value].append((*s, i + offset))
        return table

    lsums = sums(left, 0)
    found: list[tuple[int, ...]] = []
    for rtotal, rsets in sums(right, half).items():
        for lset in lsums.get(target - rtotal, ()):
            for rset in rsets:
                if lset or rset:
                    found.append(lset + rset)
    found = sorted(set(found), key=lambda s: (len(s), s))
    return found[:limit]


# --- the matcher ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ref:
    key: tuple[str, ...]
    year: int
    item: OpenItem


@dataclass
class _Reading:
    """An explanation under construction."""

    customer_id: Hashable | None
    confidence: Confidence
    allocations: list[tuple[OpenItem, int]]
    reasons: list[Reason]
    suggestions: list[Suggestion] = field(default_factory=list)


class Matcher:
    """Indexes open items and payer facts once; ``match`` reads one credit against them."""

    def __init__(
        self,
        items: Iterable[OpenItem],
        payers: KnownPayers,
        *,
        max_combination_items: int = MAX_COMBINATION_ITEMS,
    ) -> None:
        self.max_items = max_combination_items
        self.by_customer: dict[Hashable, list[OpenItem]] = defaultdict(list)
        self.by_customer_cents: dict[Hashable, dict[int, list[OpenItem]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.by_cents: dict[int, list[OpenItem]] = defaultdict(list)
        self.refs: dict[tuple[str, ...], list[_Ref]] = defaultdict(list)
        for item in sorted(items, key=_oldest):
            if item.open_amount == 0:
                continue
            cents = _cents(item.open_amount)
            self.by_customer[item.customer_id].append(item)
            self.by_customer_cents[item.customer_id][cents].append(item)
            if cents > 0:
                self.by_cents[cents].append(item)
            key = document_key(item.document_number, item.document_date.year)
            if key:
                self.refs[key].append(_Ref(key, item.document_date.year, item))
        self.max_key = max((len(k) for k in self.refs), default=0)
        self.customer_by_iban = {
            normalise_iban(iban): cust for iban, cust in payers.customers_by_iban.items() if iban
        }
        names: dict[str, set] = defaultdict(set)
        for cust, cust_names in payers.names_by_customer.items():
            for name in cust_names:
                if normalise_name(name):
                    names[normalise_name(name)].add(cust)
        self.customers_by_name = names

    # -- public --

    def match(self, credit: Credit, used: frozenset | set = frozenset()) -> Match:
        """Read one credit, ignoring items in ``used`` (already taken within the batch)."""
        reading = self._read(credit, used)
        allocations = tuple(Allocation(item.item_id, _money(c)) for item, c in reading.allocations)
        allocated = sum(c for _, c in reading.allocations)
        remainder = _cents(credit.amount) - allocated
        suggestions = list(reading.suggestions)
        if reading.confidence < Confidence.HIGH:
            taken = {item.item_id for item, _ in reading.allocations}
            for item in self.by_cents.get(_cents(credit.amount), ()):
                if len(suggestions) >= MAX_SUGGESTIONS:
                    break
                if item.item_id in used or item.item_id in taken:
                    continue
                if any(s.allocations == (Allocation(item.item_id, item.open_amount),)
                       for s in suggestions):  # fmt: skip
                    continue
                suggestions.append(
                    Suggestion(
                        item.customer_id,
                        (Allocation(item.item_id, item.open_amount),),
                        "same_amount",
                    )
                )
        return Match(
            credit_key=credit.key,
            customer_id=reading.customer_id,
            confidence=reading.confidence,
            allocations=allocations,
            reasons=tuple(reading.reasons),
            remainder=_money(remainder),
            suggestions=tuple(suggestions[:MAX_SUGGESTIONS]),
        )

    # -- the rules, in order --

    def _read(self, credit: Credit, used: frozenset | set) -> _Reading:
        reasons: list[Reason] = []
        by_iban = self.customer_by_iban.get(normalise_iban(credit.payer_iban))
        named = self.customers_by_name.get(normalise_name(credit.payer_name), set())
        by_name = next(iter(named)) if len(named) == 1 else None
        customer = by_iban if by_iban is not None else by_name
        if by_iban is not None:
            reasons.append(Reason("payer_iban", f"Payer IBAN {credit.payer_iban} is known."))
            if by_name is not None and by_name != by_iban:
                reasons.append(
                    Reason("payer_name_conflict", "Payer name belongs to another customer.")
                )
        elif by_name is not None:
            reasons.append(Reason("payer_name", f"Payer name {credit.payer_name!r} is known."))
        elif len(named) > 1:
            reasons.append(Reason("payer_name_ambiguous", "Payer name fits several customers."))

        cents = _cents(credit.amount)
        refs = self._references(credit, used)
        if refs:
            reading = self._by_reference(cents, refs, by_iban, by_name, list(reasons))
            if reading is not None:
                return reading
        if customer is not None:
            return self._by_customer(cents, customer, by_iban is not None, used, reasons)
        reasons.append(Reason("unmatched", "No document number, payer or amount fits."))
        return _Reading(None, Confidence.NONE, [], reasons)

    def _references(self, credit: Credit, used: frozenset | set) -> list[OpenItem]:
        """Available items whose document number the remittance quotes, in first-seen order."""
        text = _ascii_upper(" ; ".join((credit.remittance, *credit.references)))
        for pattern in _NOISE:
            text = pattern.sub(" ; ", text)
        toks = _tokens(text)
        found: dict[Hashable, OpenItem] = {}
        values = [t.value for t in toks]
        for i in range(len(toks)):
            for k in range(1, min(self.max_key, len(toks) - i) + 1):
                for ref in self.refs.get(tuple(values[i : i + k]), ()):
                    if ref.item.item_id in used or ref.item.item_id in found:
                        continue
                    if self._quoted_at(toks, text, i, ref):
                        found[ref.item.item_id] = ref.item
        return list(found.values())

    @staticmethod
    def _quoted_at(toks: list[_Token], text: str, i: int, ref: _Ref) -> bool:
        k = len(ref.key)
        if tuple(t.value for t in toks[i : i + k]) != ref.key:
            return False
        first, last = toks[i], toks[i + k - 1]
        # Each token of the key must be separated by at most a short run of separators.
        for a, b in zip(toks[i : i + k], toks[i + 1 : i + k], strict=False):
            if len(text[a.end : b.start].strip()) > 1 or b.start - a.end > 2:
                return False
        if i > 0:
            prev = toks[i - 1]
            sep = text[prev.end : first.start]
            if not sep and prev.value not in PREFIXES:
                return False  # "A123" is not document "123"
            if (
                sep.strip() in {"/", "-"}
                and len(sep) <= 3
                and prev.raw.isdigit()
                and len(prev.raw) == 4
                and _year_like(prev.raw, ref.year)
                and int(prev.raw) != ref.year
            ):
                return False  # "2025/123" is not 123 of 2026
        if i + k < len(toks):
            nxt = toks[i + k]
            sep = text[last.end : nxt.start]
            if not sep:
                return False  # "123A" is not document "123"
            if (
                sep.strip() in {"/", "-"}
                and len(sep) <= 3
                and nxt.raw.isdigit()
                and _year_like(nxt.raw, ref.year)
                and not _is_year(nxt.raw, ref.year)
            ):
                return False  # "123/2025" is not 123 of 2026
        if len(ref.key) == 1 and ref.key[0].isdigit() and len(ref.key[0]) < _SHORT_NUMBER:
            window = toks[max(0, i - _PREFIX_WINDOW) : i]
            if not any(t.value in PREFIXES for t in window):
                return False
        return True

    def _by_reference(
        self,
        cents: int,
        refs: list[OpenItem],
        by_iban: Hashable | None,
        by_name: Hashable | None,
        reasons: list[Reason],
    ) -> _Reading | None:
        grouped: dict[Hashable, list[OpenItem]] = defaultdict(list)
        for item in sorted(refs, key=_oldest):
            grouped[item.customer_id].append(item)
        # A customer quoted only for credit notes is no reading of an incoming payment.
        groups = {c: g for c, g in grouped.items() if any(_cents(i.open_amount) > 0 for i in g)}
        if not groups:
            return None
        conflict = False
        if by_iban is not None and by_iban in groups:
            groups = {by_iban: groups[by_iban]}
        elif by_iban is not None or (by_name is not None and by_name not in groups):
            conflict = True
            reasons.append(Reason("payer_conflict", "Quoted documents belong to another customer."))
        numbers = ", ".join(sorted({i.document_number for g in groups.values() for i in g}))
        reasons.append(Reason("reference", f"Remittance quotes document(s) {numbers}."))

        solutions: list[tuple[Hashable, list[OpenItem]]] = []
        exhaustive = True
        for cust in sorted(groups, key=str):
            pool = groups[cust][: self.max_items]
            exhaustive = exhaustive and len(groups[cust]) <= self.max_items
            for subset in exact_subsets([_cents(i.open_amount) for i in pool], cents):
                solutions.append((cust, [pool[j] for j in subset]))
        if solutions:
            cust, chosen = min(solutions, key=lambda s: _solution_order(s[1]))
            full = len(chosen) == len(groups[cust])
            # Only "the money equals everything quoted" closes at once: an exact part of the
            # quoted documents may as well be a partial payment that happens to fit, and a
            # number shared by documents of different years (or by an invoice and a credit
            # note) leaves open which one was meant.
            # Installments of one document owing the same amount are interchangeable: the
            # payment settles the earliest due, as any accountant would book it.
            quoted = groups[cust]
            installments = (
                len(groups) == 1
                and len(quoted) > 1
                and len({i.document_number for i in quoted}) == 1
                and {_cents(i.open_amount) for i in quoted} == {cents}
            )
            if len(solutions) == 1 and exhaustive and full and not conflict:
                confidence = Confidence.HIGH if not _loose(groups[cust]) else Confidence.MEDIUM
            elif installments and exhaustive and not conflict and not _loose(groups[cust]):
                confidence = Confidence.HIGH
                reasons.append(
                    Reason(
                        "earliest_installment",
                        "Installments of the document owe the same: the earliest due is paid.",
                    )
                )
            elif len({c for c, _ in solutions}) == 1:
                confidence = Confidence.MEDIUM
            else:
                confidence = Confidence.LOW
            code, text = (
                ("amount_exact", "Amount equals the quoted documents.")
                if full
                else ("amount_exact_subset", "Amount equals part of the quoted documents.")
            )
            reasons.append(Reason(code, text))
            if any(_cents(i.open_amount) < 0 for i in chosen):
                reasons.append(Reason("credit_note", "A credit note is netted."))
            if len(solutions) > 1 and confidence < Confidence.HIGH:
                reasons.append(Reason("ambiguous", "Several sets of items fit the amount."))
            alternatives = [
                Suggestion(c, _full(items), "reference_exact")
                for c, items in solutions
                if items is not chosen
            ]
            return _Reading(cust, confidence, _whole(chosen), reasons, alternatives)

        # No exact fit: pay the quoted items as far as the money goes (a partial payment, or
        # an overpayment that leaves a remainder).
        if len(groups) == 1:
            cust = next(iter(groups))
            confidence = Confidence.MEDIUM
        else:
            cust = min(groups, key=lambda c: (-len(groups[c]), _gap(groups[c], cents), str(c)))
            confidence = Confidence.LOW
        if conflict:
            confidence = min(confidence, Confidence.LOW)
        group = groups[cust]
        total = sum(_cents(i.open_amount) for i in group)
        if cents > total:
            reasons.append(Reason("amount_over", "Amount exceeds the quoted documents."))
            allocations = _whole(group)
        else:
            reasons.append(Reason("amount_partial", "Partial payment of the quoted documents."))
            notes = [i for i in group if _cents(i.open_amount) < 0]
            if notes:
                reasons.append(Reason("credit_note", "A credit note is netted."))
            capacity = cents - sum(_cents(i.open_amount) for i in notes)
            allocations = _whole(notes) + _oldest_first(
                [i for i in group if _cents(i.open_amount) > 0], capacity
            )
        others = [
            Suggestion(c, _full(items), "reference") for c, items in groups.items() if c != cust
        ]
        return _Reading(cust, confidence, allocations, reasons, others)

    def _by_customer(
        self,
        cents: int,
        customer: Hashable,
        known_by_iban: bool,
        used: frozenset | set,
        reasons: list[Reason],
    ) -> _Reading:
        available = (i for i in self.by_customer.get(customer, ()) if i.item_id not in used)
        pool = list(itertools.islice(available, self.max_items + 1))
        if not pool:
            reasons.append(Reason("no_open_items", "The payer has no open items."))
            return _Reading(customer, Confidence.NONE, [], reasons)
        exhaustive = len(pool) <= self.max_items
        pool = pool[: self.max_items]
        solutions = [
            [pool[j] for j in s]
            for s in exact_subsets([_cents(i.open_amount) for i in pool], cents)
        ]
        pool_ids = {i.item_id for i in pool}
        for item in self.by_customer_cents[customer].get(cents, ()):
            if item.item_id not in used and item.item_id not in pool_ids:
                solutions.append([item])  # an exact single item beyond the window
        solutions.sort(key=_solution_order)
        if solutions:
            chosen = solutions[0]
            if len(solutions) == 1:
                single = len(chosen) == 1
                if known_by_iban and (single or exhaustive):
                    confidence = Confidence.HIGH
                else:
                    confidence = Confidence.MEDIUM
                reasons.append(
                    Reason("single_amount", "Amount equals one open item of the payer.")
                    if single
                    else Reason("combination", "Amount equals a set of the payer's open items.")
                )
            else:
                confidence = Confidence.LOW
                reasons.append(
                    Reason("ambiguous", "Several of the payer's items or sets fit the amount.")
                )
            if any(_cents(i.open_amount) < 0 for i in chosen):
                reasons.append(Reason("credit_note", "A credit note is netted."))
            alternatives = [Suggestion(customer, _full(s), "payer_exact") for s in solutions[1:]]
            return _Reading(customer, confidence, _whole(chosen), reasons, alternatives)

        positives = (
            i
            for i in self.by_customer[customer]
            if i.item_id not in used and _cents(i.open_amount) > 0
        )
        confidence = Confidence.MEDIUM if known_by_iban else Confidence.LOW
        reasons.append(
            Reason("oldest_first", "No amount fits: the oldest open items are paid first.")
        )
        return _Reading(customer, confidence, _oldest_first(positives, cents), reasons)


def _loose(items: list[OpenItem]) -> bool:
    """Whether two quoted items share a number but not the year or the sign."""
    seen: dict[tuple[str, ...], set[tuple[int, bool]]] = defaultdict(set)
    for i in items:
        key = document_key(i.document_number, i.document_date.year)
        seen[key].add((i.document_date.year, i.open_amount > 0))
    return any(len(v) > 1 for v in seen.values())


def _solution_order(items: list[OpenItem]) -> tuple:
    return (len(items), [_oldest(i) for i in items])


def _gap(items: list[OpenItem], cents: int) -> int:
    return abs(sum(_cents(i.open_amount) for i in items) - cents)


def _whole(items: Iterable[OpenItem]) -> list[tuple[OpenItem, int]]:
    return [(i, _cents(i.open_amount)) for i in items]


def _full(items: Iterable[OpenItem]) -> tuple[Allocation, ...]:
    return tuple(Allocation(i.item_id, i.open_amount) for i in items)


def _oldest_first(items: Iterable[OpenItem], cents: int) -> list[tuple[OpenItem, int]]:
    """Pay positive items oldest first until the money runs out (the last one partly)."""
    out: list[tuple[OpenItem, int]] = []
    for item in sorted(items, key=_oldest):
        if cents <= 0:
            break
        amount = min(_cents(item.open_amount), cents)
        out.append((item, amount))
        cents -= amount
    return out


def match_batch(
    credits: Sequence[Credit],
    items: Iterable[OpenItem],
    payers: KnownPayers,
    *,
    max_combination_items: int = MAX_COMBINATION_ITEMS,
) -> list[Match]:
    """Match a statement's credits, each item used at most once, surest credits first.

    A first pass reads every credit against all items; credits then take their items in order
    of that confidence (ties by position, so the result is deterministic). A credit never ends
    surer than its first reading: items taken by others can remove ambiguity only by a guess,
    so a reading that became HIGH that way stays as it was.
    """
    matcher = Matcher(items, payers, max_combination_items=max_combination_items)
    first = [matcher.match(c) for c in credits]
    order = sorted(range(len(credits)), key=lambda i: (-first[i].confidence, i))
    used: set = set()
    out: list[Match | None] = [None] * len(credits)
    for i in order:
        result = matcher.match(credits[i], used)
        cap = first[i].confidence
        if result.confidence == Confidence.HIGH and result.allocations != first[i].allocations:
            cap = min(cap, Confidence.MEDIUM)
        if result.confidence > cap:
            result = dataclasses.replace(
                result,
                confidence=cap,
                reasons=(
                    *result.reasons,
                    Reason("batch_capped", "Confidence capped: other credits took items."),
                ),
            )
        used.update(a.item_id for a in result.allocations)
        out[i] = result
    return [m for m in out if m is not None]


def match_credit(credit: Credit, items: Iterable[OpenItem], payers: KnownPayers) -> Match:
    """Read a single credit (a batch of one)."""
    return match_batch([credit], items, payers)[0]
