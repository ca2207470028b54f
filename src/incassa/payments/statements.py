"""Reading bank statements: ISO 20022 camt.053 / camt.054 and SWIFT MT940 (CSV exports of
home banking are read by ``statements_csv`` into the same ``Statement``, format ``csv``).

Pure logic, no database: a file's bytes become ``Statement`` objects holding Decimal balances
and one ``Entry`` per transaction, ready for the import service and the payment matching that
come later. The format is recognised from the content, not from the file name.

What the matching needs from an entry is the money (amount, credit or debit, dates), who paid
(counterparty name and IBAN) and what for (remittance text and structured references); what the
import needs is a stable ``entry_key`` so that reading the same statement twice books nothing
twice.

Files come from outside, so they are read defensively: XML through defusedxml with DTDs
refused (no entity expansion, no external entities, no network), a size bound on the input,
and every structural problem raised as ``StatementError`` with a message saying what and where.
A statement whose opening balance plus credits minus debits is not its closing balance is
refused too: it means entries were lost or misread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException
from stdnum import iban as stdnum_iban

__all__ = [
    "MAX_BYTES",
    "MAX_ENTRIES",
    "Entry",
    "Statement",
    "StatementError",
    "format_mt940_amount",
    "parse_mt940_amount",
    "read_statement",
    "read_statements",
]

MAX_BYTES = 20 * 1024 * 1024
"""Largest file accepted: a year of a busy account's camt.053 is a few MB."""

MAX_ENTRIES = 200_000
"""Most entries accepted from one file, a bound on memory for pathological inputs."""

CAMT053 = "camt.053"
CAMT054 = "camt.054"
MT940 = "mt940"

ZERO = Decimal("0")


class StatementError(ValueError):
    """A bank statement file that cannot be read; the message says what and where."""


@dataclass(frozen=True)
class Entry:
    """One transaction on the account: a booked entry or one transaction of a batch."""

    booking_date: dt.date | None
    value_date: dt.date | None
    amount: Decimal
    """Always positive; ``credit`` says the direction."""
    credit: bool
    currency: str
    counterparty_name: str = ""
    """The payer for a credit, the payee for a debit."""
    counterparty_iban: str = ""
    remittance: str = ""
    """Unstructured remittance information (camt ``Ustrd``, MT940 :86: text), concatenated."""
    references: tuple[str, ...] = ()
    """Structured remittance: creditor references (RF...) and referred document numbers."""
    end_to_end_id: str = ""
    bank_reference: str = ""
    """The bank's own reference (camt ``AcctSvcrRef``, MT940 ``//`` reference)."""
    additional_info: str = ""
    """The bank's description of the entry (camt ``AddtlNtryInf``/``AddtlTxInf``)."""
    transaction_code: str = ""
    """Bank transaction code (camt ``BkTxCd``, MT940 transaction type such as ``NTRF``)."""
    status: str = "BOOK"
    entry_key: str = ""
    """Stable identity for idempotent import: account + bank reference, else a hash."""

    @property
    def signed_amount(self) -> Decimal:
        """The amount as it moves the balance: credits positive, debits negative."""
        return self.amount if self.credit else -self.amount

    @property
    def debit(self) -> bool:
        return not self.credit


@dataclass(frozen=True)
class Statement:
    """One statement (or notification) of one account, as the bank sent it."""

    format: str
    """``camt.053``, ``camt.054``, ``mt940`` or ``csv`` (``statements_csv``)."""
    statement_id: str
    account_iban: str
    """The account's IBAN, empty when the file identifies the account otherwise."""
    account_id: str
    """The account as the file writes it (the IBAN when there is one)."""
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    entries: tuple[Entry, ...]
    opening_date: dt.date | None = None
    closing_date: dt.date | None = None
    sequence: str = ""
    """Electronic sequence number (camt) or statement/page number (MT940 :28C:)."""
    version: str = ""
    """The camt message version, e.g. ``camt.053.001.02``."""

    @property
    def total_credits(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.credit and _books(e)), ZERO)

    @property
    def total_debits(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.debit and _books(e)), ZERO)

    @property
    def credits(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.credit)


def _books(entry: Entry) -> bool:
    """Whether an entry moves the booked balance (pending and informational ones do not)."""
    return entry.status not in ("PDNG", "INFO")


# --------------------------------------------------------------------------------------------
# Entry points


def read_statements(name: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> list[Statement]:
    """Every statement in a file, in file order, each balance-checked, with unique entry keys."""
    if len(data) > max_bytes:
        raise StatementError(
            f"{name}: the file is {len(data):,} bytes, more than the {max_bytes:,} accepted"
        )
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        raise StatementError(f"{name}: the file is empty")
    if body.startswith(b"<") or body.startswith(b"\xff\xfe") or body.startswith(b"\xfe\xff"):
        statements = _read_camt(name, data)
    else:
        text = _decode(body)
        if not re.search(r"(?m)^:20:", text):
            raise StatementError(
                f"{name}: not a bank statement (neither ISO 20022 camt XML nor SWIFT MT940)"
            )
        statements = _read_mt940(name, text)
    if not statements:
        raise StatementError(f"{name}: the file contains no statement")
    if sum(len(s.entries) for s in statements) > MAX_ENTRIES:
        raise StatementError(f"{name}: more than {MAX_ENTRIES:,} entries in one file")
    for number, statement in enumerate(statements, 1):
        _check_balance(name, number, statement)
    return _with_keys(statements)


def read_statement(name: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> Statement:
    """The file's statement; consecutive statements of one account are joined into one.

    A multi-day MT940 or camt.053 file of one account reads as one statement from the first
    opening balance to the last closing balance, each day having been checked on its own and
    each day required to open where the previous one closed. Files mixing accounts or
    currencies are refused here: read them with ``read_statements``.
    """
    statements = read_statements(name, data, max_bytes=max_bytes)
    if len(statements) == 1:
        return statements[0]
    first = statements[0]
    for number, (before, after) in enumerate(itertools.pairwise(statements), 2):
        if (after.account_id, after.currency) != (first.account_id, first.currency):
            raise StatementError(
                f"{name}: statement {number} is of account {after.account_id} {after.currency}, "
                f"statement 1 of {first.account_id} {first.currency}; "
                "read a file with several accounts statement by statement"
            )
        if (
            before.closing_balance is not None
            and after.opening_balance is not None
            and before.closing_balance != after.opening_balance
        ):
            raise StatementError(
                f"{name}: statement {number} opens with {after.opening_balance} but statement "
                f"{number - 1} closed with {before.closing_balance}: a statement is missing"
            )
    last = statements[-1]
    return replace(
        first,
        statement_id=", ".join(dict.fromkeys(s.statement_id for s in statements if s.statement_id)),
        closing_balance=last.closing_balance,
        closing_date=last.closing_date,
        sequence=", ".join(s.sequence for s in statements if s.sequence),
        entries=tuple(e for s in statements for e in s.entries),
    )


def _check_balance(name: str, number: int, statement: Statement) -> None:
    if statement.opening_balance is None or statement.closing_balance is None:
        return
    expected = statement.opening_balance + statement.total_credits - statement.total_debits
    if expected != statement.closing_balance:
        raise StatementError(
            f"{name}: statement {number} ({statement.statement_id or 'without id'}) does not "
            f"balance: opening {statement.opening_balance} + credits {statement.total_credits} "
            f"- debits {statement.total_debits} = {expected}, but the closing balance is "
            f"{statement.closing_balance}"
        )


def _with_keys(statements: list[Statement]) -> list[Statement]:
    """Give every entry a key unique within the file and the same on every reading of it.

    The bank reference identifies an entry for the bank's lifetime; without it the key is a
    hash of what the entry says. Repeats within the file (one batch reference shared by its
    transactions, two identical payments on one day) are told apart by their order.
    """
    seen: Counter[str] = Counter()
    result = []
    for statement in statements:
        account = _compact(statement.account_id).upper()
        entries = []
        for entry in statement.entries:
            if entry.bank_reference:
                base = f"{account}:{entry.bank_reference}"
            else:
                fields = "|".join(
                    str(v)
                    for v in (
                        entry.booking_date,
                        entry.value_date,
                        entry.amount,
                        "C" if entry.credit else "D",
                        entry.currency,
                        entry.counterparty_iban,
                        entry.counterparty_name,
                        entry.remittance,
                        "/".join(entry.references),
                        entry.end_to_end_id,
                        entry.additional_info,
                    )
                )
                base = f"{account}:#{hashlib.sha256(fields.encode()).hexdigest()[:32]}"
            seen[base] += 1
            key = base if seen[base] == 1 else f"{base}:{seen[base]}"
            entries.append(replace(entry, entry_key=key))
        result.append(replace(statement, entries=tuple(entries)))
    return result


# --------------------------------------------------------------------------------------------
# ISO 20022 camt.053 / camt.054

_MESSAGES = {"BkToCstmrStmt": (CAMT053, "Stmt"), "BkToCstmrDbtCdtNtfctn": (CAMT054, "Ntfctn")}
_VERSION = re.compile(r"camt\.\d{3}\.\d{3}\.\d{2}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return [c for c in el if _local(c.tag) == name]


def _get(el: Element | None, *path: str) -> Element | None:
    """The first element along a path of local names (namespaces differ between versions)."""
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el: Element | None, *path: str) -> str:
    found = _get(el, *path)
    return " ".join((found.text or "").split()) if found is not None else ""


def _read_camt(name: str, data: bytes) -> list[Statement]:
    try:
        root = safe_et.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise StatementError(
            f"{name}: refused: the XML declares a DTD or entities ({type(exc).__name__}), "
            "which bank statements never need"
        ) from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise StatementError(
            f"{name}: not well-formed XML at line {line}, column {column + 1} "
            "(is the file truncated?)"
        ) from exc
    message = None
    for el in root.iter():
        if _local(el.tag) in _MESSAGES:
            message = el
            break
        if _local(el.tag) in ("BkToCstmrAcctRpt",):
            raise StatementError(
                f"{name}: camt.052 intraday account reports are not read; "
                "export the end-of-day statement (camt.053) instead"
            )
    if message is None:
        raise StatementError(
            f"{name}: not a camt.053 or camt.054 document: the root element is "
            f"<{_local(root.tag)}> and there is no BkToCstmrStmt or BkToCstmrDbtCdtNtfctn"
        )
    kind, part = _MESSAGES[_local(message.tag)]
    found = _VERSION.search(message.tag) or _VERSION.search(root.tag)
    version = found.group(0) if found else kind
    statements = []
    for number, el in enumerate(_children(message, part), 1):
        where = f"{name}: {part} {number}"
        statements.append(_camt_statement(where, el, kind, version))
    return statements


def _camt_statement(where: str, stmt: Element, kind: str, version: str) -> Statement:
    acct = _get(stmt, "Acct")
    if acct is None:
        raise StatementError(f"{where}: no account (Acct)")
    iban = _text(acct, "Id", "IBAN")
    other = _text(acct, "Id", "Othr", "Id")
    account_id = _compact(iban or other)
    if not account_id:
        raise StatementError(f"{where}: the account has neither IBAN nor other identification")
    currency = _text(acct, "Ccy")
    opening = closing = None
    opening_date = closing_date = None
    for bal in _children(stmt, "Bal"):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd") or _text(bal, "Tp", "CdOrPrtry", "Prtry")
        amount, ccy = _camt_amount(f"{where}, balance {code}", bal, signed=True)
        currency = currency or ccy
        day = _camt_date(f"{where}, balance {code}", _get(bal, "Dt"))
        if code in ("OPBD", "PRCD") and (opening is None or code == "OPBD"):
            opening, opening_date = amount, day
        elif code == "CLBD":
            closing, closing_date = amount, day
    entries: list[Entry] = []
    for number, ntry in enumerate(_children(stmt, "Ntry"), 1):
        entries.extend(_camt_entries(f"{where}, entry {number}", ntry))
    if not currency:
        currency = entries[0].currency if entries else ""
    return Statement(
        format=kind,
        statement_id=_text(stmt, "Id"),
        account_iban=_compact(iban).upper(),
        account_id=account_id,
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        opening_date=opening_date,
        closing_date=closing_date,
        entries=tuple(entries),
        sequence=_text(stmt, "ElctrncSeqNb") or _text(stmt, "LglSeqNb"),
        version=version,
    )


def _camt_amount(where: str, el: Element, *, signed: bool = False) -> tuple[Decimal, str]:
    amt = _get(el, "Amt")
    if amt is None:
        raise StatementError(f"{where}: no amount (Amt)")
    amount = _decimal(where, amt.text or "")
    if signed and _text(el, "CdtDbtInd") == "DBIT":
        amount = -amount
    return amount, (amt.get("Ccy") or "").strip().upper()


def _decimal(where: str, text: str) -> Decimal:
    text = text.strip()
    if not re.fullmatch(r"\d{1,15}(\.\d{1,5})?", text):
        raise StatementError(f"{where}: {text!r} is not an amount")
    return Decimal(text)


def _camt_date(where: str, el: Element | None) -> dt.date | None:
    if el is None:
        return None
    text = _text(el, "Dt") or _text(el, "DtTm")[:10]
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise StatementError(f"{where}: {text!r} is not a date") from exc


def _direction(where: str, el: Element, default: bool | None = None) -> bool:
    indicator = _text(el, "CdtDbtInd")
    if indicator in ("CRDT", "DBIT"):
        return indicator == "CRDT"
    if default is not None and not indicator:
        return default
    raise StatementError(f"{where}: credit/debit indicator {indicator!r} is not CRDT or DBIT")


def _camt_entries(where: str, ntry: Element) -> list[Entry]:
    """One entry per transaction: a batch (several TxDtls) is split into its payments."""
    amount, currency = _camt_amount(where, ntry)
    credit = _direction(where, ntry)
    status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd") or "BOOK"
    booking = _camt_date(f"{where}, BookgDt", _get(ntry, "BookgDt"))
    value = _camt_date(f"{where}, ValDt", _get(ntry, "ValDt"))
    entry_ref = _text(ntry, "AcctSvcrRef")
    info = _text(ntry, "AddtlNtryInf")
    code = _bank_code(_get(ntry, "BkTxCd"))
    base = Entry(
        booking_date=booking,
        value_date=value,
        amount=amount,
        credit=credit,
        currency=currency,
        bank_reference=entry_ref,
        additional_info=info,
        transaction_code=code,
        status=status,
    )
    details = [tx for nd in _children(ntry, "NtryDtls") for tx in _children(nd, "TxDtls")]
    if not details:
        return [base]
    if len(details) == 1:
        return [_camt_transaction(f"{where}, TxDtls 1", base, details[0], single=True)]
    parts = [
        _camt_transaction(f"{where}, TxDtls {n}", base, tx, single=False)
        for n, tx in enumerate(details, 1)
    ]
    total = sum((p.signed_amount for p in parts), ZERO)
    if total != base.signed_amount:
        raise StatementError(
            f"{where}: the {len(parts)} transactions of the batch add up to {total}, "
            f"but the entry amount is {base.signed_amount}"
        )
    refs = [p.bank_reference for p in parts]
    if len(set(refs)) < len(refs):
        # A shared batch reference: number the transactions so that each keeps its own key.
        parts = [
            replace(p, bank_reference=f"{p.bank_reference}/{n}" if p.bank_reference else "")
            for n, p in enumerate(parts, 1)
        ]
    return parts


def _camt_transaction(where: str, base: Entry, tx: Element, *, single: bool) -> Entry:
    amount, currency = base.amount, base.currency
    amt = _get(tx, "Amt")
    tx_amt = _get(tx, "AmtDtls", "TxAmt")
    if tx_amt is not None and _get(tx_amt, "Amt") is not None:
        amount, currency = _camt_amount(where, tx_amt)
    elif amt is not None:
        amount, currency = _camt_amount(where, tx)
    elif not single:
        raise StatementError(f"{where}: a transaction of a batch has no amount")
    credit = _direction(where, tx, default=base.credit)
    if single:
        # The booked amount is the entry's; a lone transaction's may be the instructed one.
        amount, currency, credit = base.amount, base.currency, base.credit
    parties = _get(tx, "RltdPties")
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    name = _party_name(_get(parties, party))
    if not name:
        name = _party_name(_get(parties, "Ultmt" + party))
    iban = _text(parties, account, "Id", "IBAN")
    remittance = _get(tx, "RmtInf")
    unstructured = " ".join(t for u in _children(remittance, "Ustrd") if (t := _text(u)))
    references: list[str] = []
    for strd in _children(remittance, "Strd"):
        for doc in _children(strd, "RfrdDocInf"):
            if number := _text(doc, "Nb"):
                references.append(number)
        if ref := _text(strd, "CdtrRefInf", "Ref"):
            references.append(ref)
        for extra in _children(strd, "AddtlRmtInf"):
            if text := _text(extra):
                unstructured = f"{unstructured} {text}".strip()
    refs = _get(tx, "Refs")
    e2e = _text(refs, "EndToEndId")
    info = " ".join(x for x in (base.additional_info, _text(tx, "AddtlTxInf")) if x)
    return replace(
        base,
        amount=amount,
        currency=currency,
        credit=credit,
        counterparty_name=name,
        counterparty_iban=_compact(iban).upper(),
        remittance=unstructured,
        references=tuple(dict.fromkeys(references)),
        end_to_end_id="" if e2e.upper() == "NOTPROVIDED" else e2e,
        bank_reference=_text(refs, "AcctSvcrRef") or base.bank_reference,
        additional_info=info,
        transaction_code=_bank_code(_get(tx, "BkTxCd")) or base.transaction_code,
    )


def _party_name(party: Element | None) -> str:
    """The name of a party: directly under it (up to .07) or under ``Pty`` (.08)."""
    return _text(party, "Nm") or _text(party, "Pty", "Nm")


def _bank_code(code: Element | None) -> str:
    if code is None:
        return ""
    domain = "/".join(
        x
        for x in (
            _text(code, "Domn", "Cd"),
            _text(code, "Domn", "Fmly", "Cd"),
            _text(code, "Domn", "Fmly", "SubFmlyCd"),
        )
        if x
    )
    return domain or _text(code, "Prtry", "Cd")


# --------------------------------------------------------------------------------------------
# SWIFT MT940

_TAG = re.compile(r"^:(\d{2}[A-Z]?):", re.MULTILINE)
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<ccy>[A-Z]{3})(?P<amount>[\d,]{1,15})\s*$")
_LINE61 = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d[\d,]{0,14})(?P<type>[A-Z0-9]{4})(?P<ref>.*?)(?://(?P<bankref>.*))?$"
)
_AMOUNT = re.compile(r"(\d{1,14}),(\d{0,5})")
_IBAN = re.compile(r"(?=\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}))")
_SUBFIELD = re.compile(r"\?(\d{2})")
_KEYWORD = re.compile(r"/(EREF|KREF|MREF|CRED|REMI|RI|ORDP|BENM|NAME|IBAN|ACCW|PURP|SVWZ)/")
_MT_LINE = 65


def parse_mt940_amount(text: str) -> Decimal:
    """An MT940 amount: digits, a mandatory decimal comma, up to 15 characters (``1234,56``)."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None or len(text.strip()) > 15:
        raise StatementError(f"{text!r} is not an MT940 amount (digits with a decimal comma)")
    whole, fraction = match.groups()
    return Decimal(f"{whole}.{fraction or '0'}")


def format_mt940_amount(amount: Decimal) -> str:
    """An amount as MT940 writes it: no sign, no thousands separator, a decimal comma."""
    if amount < 0:
        raise ValueError("MT940 amounts carry no sign: the D/C mark gives the direction")
    text = format(amount, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole},{fraction}"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _mt940_messages(text: str) -> Iterator[tuple[str, int]]:
    """Each statement's text and first line: SWIFT envelopes ({1:..}{4:..-}) taken off."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [(m.group(1), m.start(1)) for m in re.finditer(r"\{4:(.*?)-\}", text, re.DOTALL)]
    for block, offset in blocks or [(text, 0)]:
        starts = [m.start() for m in re.finditer(r"(?m)^:20:", block)]
        for start, end in zip(starts, [*starts[1:], len(block)], strict=True):
            # A lone "-" line ends a message in many banks' files.
            chunk = re.sub(r"(?m)^-\s*$", "", block[start:end]).strip("\n")
            yield chunk, text.count("\n", 0, offset + start) + 1


def _mt940_fields(chunk: str) -> list[tuple[str, str, int]]:
    """(tag, value, line offset within the message) with continuation lines kept."""
    fields = []
    matches = list(_TAG.finditer(chunk))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(chunk)
        line = chunk.count("\n", 0, match.start())
        fields.append((match.group(1), chunk[match.end() : end].rstrip("\n"), line))
    return fields


def _read_mt940(name: str, text: str) -> list[Statement]:
    return [
        _mt940_statement(name, number, chunk, first_line)
        for number, (chunk, first_line) in enumerate(_mt940_messages(text), 1)
    ]


def _mt940_statement(name: str, number: int, chunk: str, first_line: int) -> Statement:
    def where(line: int) -> str:
        return f"{name}: statement {number}, line {first_line + line}"

    fields = _mt940_fields(chunk)
    tags = [tag for tag, _, _ in fields]
    for options in (("25",), ("60F", "60M"), ("62F", "62M")):
        if not any(t in tags for t in options):
            label = " or ".join(f":{o}:" for o in options)
            raise StatementError(f"{where(0)}: no {label} field (is the file truncated?)")
    statement_id = account = sequence = currency = ""
    opening = closing = None
    opening_date = closing_date = None
    entries: list[Entry] = []
    pending: dict | None = None

    def flush(details: str = "") -> None:
        nonlocal pending
        if pending is not None:
            entries.append(_mt940_entry(pending, details, currency))
            pending = None

    for tag, value, line in fields:
        if tag == "20":
            statement_id = value.strip()
        elif tag == "25":
            account = value.strip()
        elif tag == "28C":
            sequence = value.strip()
        elif tag in ("60F", "60M", "62F", "62M"):
            flush()
            amount, day, ccy = _mt940_balance(where(line), tag, value)
            currency = currency or ccy
            if ccy != currency:
                raise StatementError(
                    f"{where(line)}: :{tag}: is in {ccy}, the statement in {currency}"
                )
            if tag.startswith("60"):
                opening, opening_date = amount, day
            else:
                closing, closing_date = amount, day
        elif tag == "61":
            flush()
            pending = _mt940_line61(where(line), value)
        elif tag == "86":
            if pending is not None:
                flush(value)
        elif tag in ("64", "65", "21", "13D", "34F", "90D", "90C", "NS"):
            flush()
    flush()
    iban = _account_iban(account)
    return Statement(
        format=MT940,
        statement_id=statement_id,
        account_iban=iban,
        account_id=iban or _compact(account),
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        opening_date=opening_date,
        closing_date=closing_date,
        entries=tuple(entries),
        sequence=sequence,
    )


def _account_iban(account: str) -> str:
    """The IBAN in a :25: field, which may also be ``BIC/IBAN`` or ``bank/account``."""
    for part in reversed(account.split("/")):
        candidate = _compact(part).upper()
        if stdnum_iban.is_valid(candidate):
            return candidate
    return ""


def _mt940_balance(where: str, tag: str, value: str) -> tuple[Decimal, dt.date, str]:
    match = _BALANCE.match(value.strip())
    if match is None:
        raise StatementError(
            f"{where}: :{tag}:{value.strip()} is not a balance (C/D, YYMMDD, currency, amount)"
        )
    amount = _mt940_amount(where, match.group("amount"))
    day = _yymmdd(where, match.group("date"))
    return (amount if match.group("mark") == "C" else -amount), day, match.group("ccy")


def _mt940_amount(where: str, text: str) -> Decimal:
    try:
        return parse_mt940_amount(text)
    except StatementError as exc:
        raise StatementError(f"{where}: {exc}") from None


def _yymmdd(where: str, text: str) -> dt.date:
    try:
        # SWIFT's rule for two-digit years: 00-79 are 20xx, 80-99 are 19xx.
        year = int(text[:2])
        return dt.date(2000 + year if year < 80 else 1900 + year, int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise StatementError(f"{where}: {text!r} is not a date (YYMMDD)") from exc


def _mt940_line61(where: str, value: str) -> dict:
    first, _, rest = value.partition("\n")
    match = _LINE61.match(first.strip())
    if match is None:
        raise StatementError(f"{where}: :61:{first.strip()} is not a statement line")
    value_date = _yymmdd(where, match.group("value"))
    booking = value_date
    if entry := match.group("entry"):
        # The entry date has no year: take the one that puts it nearest the value date.
        candidates = []
        for year in (value_date.year - 1, value_date.year, value_date.year + 1):
            try:
                candidates.append(dt.date(year, int(entry[:2]), int(entry[2:])))
            except ValueError:
                continue
        if not candidates:
            raise StatementError(f"{where}: {entry!r} is not an entry date (MMDD)")
        booking = min(candidates, key=lambda d: abs((d - value_date).days))
    mark = match.group("mark")
    ref = match.group("ref").strip()
    return {
        "value": value_date,
        "booking": booking,
        # A reversal of a debit (RD) is a credit, a reversal of a credit (RC) a debit.
        "credit": mark in ("C", "RD"),
        "amount": _mt940_amount(where, match.group("amount")),
        "type": match.group("type"),
        "ref": "" if ref.upper() == "NONREF" else ref,
        "bankref": (match.group("bankref") or "").strip(),
        "supplementary": " ".join(rest.split()),
    }


def _join_lines(lines: Iterable[str], width: int) -> str:
    """Lines joined back: a line filled to the width was cut mid-word, so no space after it."""
    out = ""
    previous_full = False
    for line in lines:
        full = len(line) >= width
        if out and not previous_full:
            out += " "
        out += line if full else line.rstrip()
        previous_full = full
    return " ".join(out.split())


def _mt940_entry(line61: dict, details: str, currency: str) -> Entry:
    info = _parse_86(details)
    return Entry(
        booking_date=line61["booking"],
        value_date=line61["value"],
        amount=line61["amount"],
        credit=line61["credit"],
        currency=currency,
        counterparty_name=info["name"],
        counterparty_iban=info["iban"],
        remittance=info["remittance"],
        references=(),
        end_to_end_id=info["eref"] or line61["ref"],
        bank_reference=line61["bankref"],
        additional_info=" ".join(x for x in (info["posting"], line61["supplementary"]) if x),
        transaction_code=info["code"] or line61["type"],
    )


def _parse_86(details: str) -> dict[str, str]:
    """Information to the account owner in any of the three shapes Italian banks send.

    ``?NN`` subfields (``?00`` posting text, ``?20``..``?29`` and ``?60``..``?63``
    remittance, ``?32``/``?33`` name, ``?31``/``?38`` account), ``/KEYWORD/`` structure
    (``/REMI/``, ``/ORDP/``, ``/IBAN/``...), or free text from which the IBAN and, after
    ``ORD:``/``ORDINANTE``/``BENEF``, the name are taken.
    """
    result = {"name": "", "iban": "", "remittance": "", "eref": "", "posting": "", "code": ""}
    lines = details.split("\n")
    flat = "".join(line.rstrip("\n") for line in lines)
    if _SUBFIELD.search(flat) and flat.lstrip()[:1] in "0123456789?":
        code, _, _ = flat.partition("?")
        result["code"] = code.strip()
        parts: dict[str, list[str]] = {}
        pieces = _SUBFIELD.split(flat)
        for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
            parts.setdefault(key, []).append(value)
        remittance = [
            v for k in sorted(parts) if "20" <= k <= "29" or "60" <= k <= "63" for v in parts[k]
        ]
        text = _join_lines(remittance, 27)
        # German-style SEPA tags inside the remittance: EREF+ end-to-end id, SVWZ+ purpose.
        if m := re.search(r"EREF\+(\S+)", text):
            result["eref"] = m.group(1)
            text = (text[: m.start()] + text[m.end() :]).strip()
        text = re.sub(r"SVWZ\+", "", text).strip()
        result["remittance"] = text
        result["posting"] = " ".join(parts.get("00", []))
        result["name"] = " ".join(" ".join(parts.get("32", []) + parts.get("33", [])).split())
        for key in ("38", "31"):
            for value in parts.get(key, []):
                candidate = _compact(value).upper()
                if stdnum_iban.is_valid(candidate):
                    result["iban"] = candidate
                    break
            if result["iban"]:
                break
        return result
    text = _join_lines(lines, _MT_LINE)
    if _KEYWORD.search(text):
        pieces = _KEYWORD.split(text)
        found: dict[str, str] = {}
        for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
            found.setdefault(key, value.strip())
        result["remittance"] = found.get("REMI") or found.get("RI") or found.get("SVWZ") or ""
        result["eref"] = found.get("EREF", "")
        name = found.get("NAME") or found.get("ORDP") or found.get("BENM") or ""
        result["name"] = name
        result["posting"] = pieces[0].strip()
        iban = _compact(found.get("IBAN") or found.get("ACCW") or "").upper()
        result["iban"] = iban if stdnum_iban.is_valid(iban) else _find_iban(text)
        return result
    result["remittance"] = text
    result["iban"] = _find_iban(text)
    named = re.search(
        r"\b(?:ORD(?:INANTE)?|BENEF(?:ICIARIO)?|DA)\s*[:.]\s*(.+?)"
        r"(?=\s+(?:IBAN|CAUS(?:ALE)?|RIF|INFO|ID|BIC|DATA|TRN|CRO)\b|[;:]|$)",
        text,
        re.IGNORECASE,
    )
    if named:
        result["name"] = named.group(1).strip(" ,.")
    return result


def _find_iban(text: str) -> str:
    for match in _IBAN.finditer(text.upper()):
        candidate = _compact(match.group(1))
        # An IBAN glued to following words: try the longest valid prefix.
        for end in range(len(candidate), 14, -1):
            if stdnum_iban.is_valid(candidate[:end]):
                return candidate[:end]
    return ""


def _compact(text: str) -> str:
    return "".join(text.split())
