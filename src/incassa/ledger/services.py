"""Operations that change the ledger: the receivables snapshot import and the issued-invoices
import.

Both are all-or-nothing and set-based. The file is parsed and validated completely before
anything is written (``parsing``); then, in one transaction, the company's current ledger is
loaded into a data frame, compared with the file by natural key, and the differences are
written with bulk statements (``incassa.core.bulk``). Nothing here issues one query per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incassa.core import bulk
from incassa.core.users import recorded_user
from incassa.ledger import parsing
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    ColumnMapping,
    Company,
    Customer,
    CustomerCategory,
    EInvoice,
    EInvoiceInstallment,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    IssuedInvoice,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
    SalesAgent,
)
from incassa.ledger.selectors import LedgerSummary, ledger_summary
from incassa.ledger.signals import snapshot_applied

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``on_progress(stage, done, total)`` while an import writes."""

MAX_REPORTED_ERRORS = 1000

# File field -> Customer column. Values from the file overwrite stored ones only when the
# file has them, so a thin export never blanks what a richer one (or a user) filled in.
CUSTOMER_TEXT_FIELDS = {
    "customer_name": "name",
    "vat_number": "vat_number",
    "fiscal_code": "fiscal_code",
    "email": "emails",
    "pec": "pec",
    "phone": "phone",
    "address": "address",
    "postal_code": "postal_code",
    "city": "city",
    "province": "province",
    "country": "country",
    "payment_terms": "payment_terms",
}
CUSTOMER_COLUMNS = [
    *CUSTOMER_TEXT_FIELDS.values(),
    "sales_agent_id",
    "category_id",
    "credit_limit",
]
COUNTRY_NAMES = {"italia": "IT", "italy": "IT", "san marino": "SM", "svizzera": "CH"}


class ImportFailed(Exception):
    """An import that applied nothing. ``exit_code`` is what the command exits with."""

    exit_code = 2

    def __init__(self, message: str, import_run: ImportRun | None = None, errors=()) -> None:
        super().__init__(message)
        self.import_run = import_run
        self.errors: list[parsing.RowError] = list(errors)


class ImportRejected(ImportFailed):
    """The file is unreadable or has invalid rows."""

    exit_code = 2


class ImportRefused(ImportFailed):
    """The file is valid but applying it looks like a mistake (a truncated export, an old
    snapshot); ``force`` applies it anyway."""

    exit_code = 3


@dataclass
class ImportResult:
    import_run: ImportRun
    summary: LedgerSummary
    errors: list[parsing.RowError] = field(default_factory=list)
    rejected: pl.DataFrame | None = None
    parsed: parsing.ParsedTable | None = None

    def as_dict(self) -> dict[str, Any]:
        run = self.import_run
        return {
            "import_id": run.pk,
            "status": run.status,
            "file": run.file_name,
            "as_of": run.as_of.isoformat(),
            "partial": run.is_partial,
            "rows_read": run.rows_read,
            "rows_rejected": run.rows_rejected,
            "created": run.created,
            "updated": run.updated,
            "closed": run.closed,
            "reopened": run.reopened,
            "unchanged": run.unchanged,
            "customers_created": run.customers_created,
            "open_items": self.summary.open_items,
            "open_amount": f"{self.summary.open_amount:.2f}",
            "customers": self.summary.customers,
        }


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    closed: int = 0
    reopened: int = 0
    unchanged: int = 0
    customers_created: int = 0
    not_yet_in_erp: int = 0
    bank_differs: int = 0


# --------------------------------------------------------------------------------------
# Public operations
# --------------------------------------------------------------------------------------


def receivables_import(
    *,
    company: Company,
    path: str | Path,
    as_of: dt.date,
    partial: bool = False,
    force: bool = False,
    skip_invalid: bool = False,
    mapping: Mapping[str, str] | None = None,
    save_mapping: bool = False,
    user: Any = None,
    source: str = "",
    on_progress: ProgressCallback | None = None,
) -> ImportResult:
    """Bring the ledger in line with a snapshot of the open items as of ``as_of``.

    A full snapshot closes the company's open items it does not list (they were paid); a
    partial one only creates and updates. Raises ``ImportRejected`` (invalid file or rows,
    nothing applied) or ``ImportRefused`` (would close too many items, or is older than the
    last snapshot, nothing applied, unless ``force``).
    """
    path = Path(path)
    run = _new_run(company, ImportKind.RECEIVABLES, path, as_of, partial, force, user, source)
    parsed, frame, errors = _parse(company, run, path, mapping, save_mapping)
    if errors and not skip_invalid:
        _reject_rows(run, parsed, errors)

    if not partial and not force:
        last = (
            ImportRun.objects.filter(
                company=company,
                kind=ImportKind.RECEIVABLES,
                status=ImportStatus.APPLIED,
                is_partial=False,
            )
            .order_by("-as_of")
            .values_list("as_of", flat=True)
            .first()
        )
        if last and last > as_of:
            _refuse(
                run,
                parsed,
                f"this snapshot is as of {as_of:%d/%m/%Y} but one as of {last:%d/%m/%Y} is "
                "already applied: applying it would undo newer data (use --force to apply)",
            )

    protected = _protected_keys(parsed, errors) if errors else None
    try:
        with transaction.atomic():
            counts = _apply_receivables(
                company=company,
                run=run,
                frame=frame,
                as_of=as_of,
                partial=partial,
                force=force,
                protected=protected,
                on_progress=on_progress,
            )
            _finish_run(run, parsed, errors, counts, ImportStatus.APPLIED)
            snapshot_applied.send(
                sender=ImportRun, company=company, as_of=as_of, closed=counts.closed
            )
    except _TooManyClosures as exc:
        _refuse(run, parsed, str(exc))
    except Exception as exc:
        _fail_run(run, parsed, exc)
        raise
    return _result(company, run, parsed, errors)


def invoices_import(
    *,
    company: Company,
    path: str | Path,
    as_of: dt.date,
    skip_invalid: bool = False,
    mapping: Mapping[str, str] | None = None,
    save_mapping: bool = False,
    user: Any = None,
    source: str = "",
    on_progress: ProgressCallback | None = None,
) -> ImportResult:
    """Load the documents issued in a period (paid or not), which KPIs such as DSO need.

    Documents are created or updated by natural key, never closed or deleted. A row with no
    due date takes its document date, so that files of whole invoices also load.
    """
    path = Path(path)
    run = _new_run(company, ImportKind.INVOICES, path, as_of, False, False, user, source)
    parsed, frame, errors = _parse(
        company, run, path, mapping, save_mapping, require_due_date=False
    )
    if errors and not skip_invalid:
        _reject_rows(run, parsed, errors)
    try:
        with transaction.atomic():
            counts = _apply_invoices(company=company, run=run, frame=frame, on_progress=on_progress)
            _finish_run(run, parsed, errors, counts, ImportStatus.APPLIED)
    except Exception as exc:
        _fail_run(run, parsed, exc)
        raise
    return _result(company, run, parsed, errors)


def _result(
    company: Company,
    run: ImportRun,
    parsed: parsing.ParsedTable,
    errors: list[parsing.RowError],
) -> ImportResult:
    return ImportResult(
        import_run=run,
        summary=ledger_summary(company=company),
        errors=errors,
        rejected=parsed.rejected if errors else None,
        parsed=parsed,
    )


def column_mapping_save(*, company: Company, mapping: Mapping[str, str]) -> None:
    """Remember how this company's files name their columns, for its next imports."""
    unknown = sorted(set(mapping.values()) - set(parsing.FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    with transaction.atomic():
        for column, field_name in mapping.items():
            ColumnMapping.objects.update_or_create(
                company=company, column=column.strip(), defaults={"field": field_name}
            )


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------
# Parsing, validation and the record of each import
# --------------------------------------------------------------------------------------


class _TooManyClosures(Exception):
    pass


def _new_run(
    company: Company,
    kind: str,
    path: Path,
    as_of: dt.date,
    partial: bool,
    force: bool,
    user: Any,
    source: str,
) -> ImportRun:
    """An unsaved record; it is saved whatever happens, inside the import's transaction when
    the import applies and on its own when it does not."""
    return ImportRun(
        company=company,
        kind=kind,
        file_name=path.name,
        checksum="",
        as_of=as_of,
        is_partial=partial,
        is_forced=force,
        status=ImportStatus.FAILED,
        imported_by=recorded_user(user),
        source=source[:200],
        started_at=timezone.now(),
    )


def _parse(
    company: Company,
    run: ImportRun,
    path: Path,
    mapping: Mapping[str, str] | None,
    save_mapping: bool,
    require_due_date: bool = True,
) -> tuple[parsing.ParsedTable, pl.DataFrame, list[parsing.RowError]]:
    try:
        run.checksum = file_checksum(path)
    except OSError as exc:
        _record_unparsed(run, f"cannot read {path.name}: {exc.strerror or exc}")
    combined = _combined_mapping(company, mapping)
    try:
        parsed = parsing.read_receivables(
            path,
            mapping=combined,
            max_bytes=settings.INCASSA_MAX_UPLOAD_BYTES,
            require_due_date=require_due_date,
        )
    except parsing.ParseError as exc:
        _record_unparsed(run, str(exc))
    if mapping and save_mapping:
        column_mapping_save(company=company, mapping=mapping)
    frame, errors = _check_lengths(parsed)
    if not require_due_date:
        frame, errors = _default_due_dates(parsed, frame, errors)
    return parsed, frame, errors


def _combined_mapping(company: Company, mapping: Mapping[str, str] | None) -> dict | None:
    """The company's saved column mapping, overridden by this import's."""
    combined = {m.column: m.field for m in ColumnMapping.objects.filter(company=company)}
    combined.update(mapping or {})
    return combined or None


@dataclass
class ImportCheck:
    """What an import of a file would read: its layout, valid rows and every problem."""

    parsed: parsing.ParsedTable
    errors: list[parsing.RowError]

    @property
    def rows_rejected(self) -> int:
        return _rejected_row_count(self.errors)


def receivables_check(
    *, company: Company, path: str | Path, mapping: Mapping[str, str] | None = None
) -> ImportCheck:
    """Read and validate ``path`` exactly as ``receivables_import`` would (with the
    company's saved mapping) and record nothing, so that a person sees the columns and the
    rejected rows before confirming. Raises ``parsing.ParseError`` when the file cannot be
    read as a whole."""
    parsed = parsing.read_receivables(
        Path(path),
        mapping=_combined_mapping(company, mapping),
        max_bytes=settings.INCASSA_MAX_UPLOAD_BYTES,
    )
    _frame, errors = _check_lengths(parsed)
    return ImportCheck(parsed=parsed, errors=errors)


def _record_unparsed(run: ImportRun, message: str) -> None:
    run.status = ImportStatus.REJECTED
    run.message = message
    run.finished_at = timezone.now()
    run.save()
    raise ImportRejected(message, run)


def _field_lengths() -> dict[str, int]:
    """The longest text each file field may hold, read off the model's columns."""
    lengths = {
        "customer_code": Customer._meta.get_field("code").max_length,
        "document_number": Receivable._meta.get_field("document_number").max_length,
        "sales_agent": SalesAgent._meta.get_field("name").max_length,
        "category": CustomerCategory._meta.get_field("code").max_length,
    }
    for file_field, column in CUSTOMER_TEXT_FIELDS.items():
        if column != "country":
            lengths[file_field] = Customer._meta.get_field(column).max_length
    return lengths


def _check_lengths(
    parsed: parsing.ParsedTable,
) -> tuple[pl.DataFrame, list[parsing.RowError]]:
    """Reject values longer than their column: PostgreSQL would refuse them mid-import."""
    frame = parsed.frame
    errors = list(parsed.errors)
    header_of = {f: h for h, f in parsed.columns.items()}
    too_long = []
    for file_field, limit in _field_lengths().items():
        if file_field not in frame.columns:
            continue
        bad = frame.filter(pl.col(file_field).str.len_chars() > limit).select("row", file_field)
        for row, value in bad.iter_rows():
            errors.append(
                parsing.RowError(
                    row=row,
                    column=header_of.get(file_field, file_field),
                    value=value,
                    reason=f"longer than {limit} characters",
                )
            )
            too_long.append(row)
    if too_long:
        frame = frame.filter(~pl.col("row").is_in(too_long))
        errors.sort(key=lambda e: (e.row, e.column))
    return frame, errors


def _default_due_dates(
    parsed: parsing.ParsedTable, frame: pl.DataFrame, errors: list[parsing.RowError]
) -> tuple[pl.DataFrame, list[parsing.RowError]]:
    frame = frame.with_columns(pl.coalesce("due_date", "document_date").alias("due_date"))
    missing = frame.filter(pl.col("due_date").is_null())["row"].to_list()
    if missing:
        errors = sorted(
            [
                *errors,
                *(
                    parsing.RowError(row=r, column="", value="", reason="missing due date")
                    for r in missing
                ),
            ],
            key=lambda e: (e.row, e.column),
        )
        frame = frame.filter(pl.col("due_date").is_not_null())
    return frame, errors


def _error_report(parsed: parsing.ParsedTable, errors: Sequence[parsing.RowError]) -> dict:
    return {
        "file_format": parsed.file_format,
        "encoding": parsed.encoding,
        "delimiter": parsed.delimiter,
        "header_row": parsed.header_row,
        "columns": parsed.columns,
        "unmapped": parsed.unmapped,
        "rows_ignored": parsed.rows_ignored,
        "errors_total": len(errors),
        "errors": [
            {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in errors[:MAX_REPORTED_ERRORS]
        ],
    }


def _rejected_row_count(errors: Sequence[parsing.RowError]) -> int:
    return len({e.row for e in errors})


def _reject_rows(
    run: ImportRun, parsed: parsing.ParsedTable, errors: list[parsing.RowError]
) -> None:
    rows = _rejected_row_count(errors)
    run.status = ImportStatus.REJECTED
    run.rows_read = parsed.rows_read
    run.rows_rejected = rows
    run.message = (
        f"{len(errors)} problem(s) in {rows} row(s): nothing was imported "
        "(fix the file, or use --skip-invalid to import the valid rows)"
    )
    run.report = _error_report(parsed, errors)
    run.finished_at = timezone.now()
    run.save()
    raise ImportRejected(run.message, run, errors)


def _refuse(run: ImportRun, parsed: parsing.ParsedTable, message: str) -> None:
    run.pk = None
    run.status = ImportStatus.REFUSED
    run.rows_read = parsed.rows_read
    run.message = message
    run.report = _error_report(parsed, [])
    run.finished_at = timezone.now()
    run.save()
    raise ImportRefused(message, run)


def _fail_run(run: ImportRun, parsed: parsing.ParsedTable, exc: Exception) -> None:
    """Record an import that crashed: the transaction rolled back, so nothing was applied."""
    run.pk = None
    run.status = ImportStatus.FAILED
    run.rows_read = parsed.rows_read
    run.message = f"{type(exc).__name__}: {exc}"[:2000]
    run.finished_at = timezone.now()
    run.save()


def _finish_run(
    run: ImportRun,
    parsed: parsing.ParsedTable,
    errors: list[parsing.RowError],
    counts: _Counts,
    status: str,
) -> None:
    run.status = status
    run.rows_read = parsed.rows_read
    run.rows_rejected = _rejected_row_count(errors)
    for name in ("created", "updated", "closed", "reopened", "unchanged", "customers_created"):
        setattr(run, name, getattr(counts, name))
    run.report = _error_report(parsed, errors)
    # Told on the import's page: what the snapshot did not do, and why.
    run.report["not_yet_in_erp"] = counts.not_yet_in_erp
    run.report["bank_differs"] = counts.bank_differs
    run.message = ""
    run.finished_at = timezone.now()
    run.save()


def _protected_keys(
    parsed: parsing.ParsedTable, errors: list[parsing.RowError]
) -> pl.DataFrame | None:
    """Customers and documents named by rejected rows: with ``skip_invalid`` a full snapshot
    must not close an item only because its row was rejected."""
    rejected = parsed.rejected
    if rejected is None or rejected.is_empty():
        return None
    header_of = {f: h for h, f in parsed.columns.items()}
    code_col = header_of.get("customer_code")
    doc_col = header_of.get("document_number")
    if code_col is None or code_col not in rejected.columns:
        return None
    codes = rejected.select(
        pl.col(code_col).cast(pl.Utf8).str.strip_chars().alias("customer_code"),
        (
            pl.col(doc_col).cast(pl.Utf8).str.strip_chars()
            if doc_col and doc_col in rejected.columns
            else pl.lit(None, dtype=pl.Utf8)
        ).alias("document_number"),
    ).filter(pl.col("customer_code").is_not_null() & (pl.col("customer_code") != ""))
    return codes.unique()


# --------------------------------------------------------------------------------------
# Set-based application
# --------------------------------------------------------------------------------------


def _table(model: Any) -> str:
    return model._meta.db_table


def _iso(column: str) -> pl.Expr:
    return pl.col(column).dt.to_string("%Y-%m-%d")


def _now_db() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _named_ids(model: Any, company: Company, key: str, names: list[str]) -> dict[str, int]:
    """Ids of the agents or categories the file names, creating the missing ones."""
    if not names:
        return {}
    existing = dict(
        model.objects.filter(company=company, **{f"{key}__in": names}).values_list(key, "id")
    )
    missing = [n for n in names if n not in existing]
    if missing:
        model.objects.bulk_create([model(company=company, **{key: n}) for n in missing])
        existing.update(
            model.objects.filter(company=company, **{f"{key}__in": missing}).values_list(key, "id")
        )
    return existing


def _customer_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per customer code with the first value the file gives for each attribute."""
    present = [f for f in (*CUSTOMER_TEXT_FIELDS, "sales_agent", "category") if f in frame.columns]
    aggregations = [pl.col(f).drop_nulls().first().alias(f) for f in present]
    if "credit_limit_cents" in frame.columns:
        aggregations.append(pl.col("credit_limit_cents").drop_nulls().first())
    customers = frame.group_by("customer_code", maintain_order=True).agg(aggregations)
    if "country" in customers.columns:
        country = pl.col("country").str.strip_chars()
        customers = customers.with_columns(
            pl.when(country.str.len_chars() == 2)
            .then(country.str.to_uppercase())
            .otherwise(country.str.to_lowercase().replace_strict(COUNTRY_NAMES, default=None))
            .alias("country")
        )
    if "province" in customers.columns:
        province = pl.col("province").str.strip_chars()
        customers = customers.with_columns(
            pl.when(province.str.len_chars() == 2)
            .then(province.str.to_uppercase())
            .otherwise(None)
            .alias("province")
        )
    return customers


def _upsert_customers(company: Company, frame: pl.DataFrame, counts: _Counts) -> pl.DataFrame:
    """Create the customers the file introduces, refresh what it says of known ones, and
    return ``customer_code -> customer_id`` for every code in the file."""
    customers = _customer_frame(frame)
    if "sales_agent" in customers.columns:
        names = customers["sales_agent"].drop_nulls().unique().to_list()
        agents = _named_ids(SalesAgent, company, "name", names)
        customers = customers.with_columns(
            pl.col("sales_agent")
            .replace_strict(agents, default=None, return_dtype=pl.Int64)
            .alias("sales_agent_id")
        )
    if "category" in customers.columns:
        codes = customers["category"].drop_nulls().unique().to_list()
        categories = _named_ids(CustomerCategory, company, "code", codes)
        customers = customers.with_columns(
            pl.col("category")
            .replace_strict(categories, default=None, return_dtype=pl.Int64)
            .alias("category_id")
        )
    renames = {f: c for f, c in CUSTOMER_TEXT_FIELDS.items() if f in customers.columns}
    if "credit_limit_cents" in customers.columns:
        renames["credit_limit_cents"] = "credit_limit"
    customers = customers.rename(renames)
    given = [c for c in CUSTOMER_COLUMNS if c in customers.columns]

    schema = {"id": pl.Int64, "code": pl.Utf8}
    schema.update({c: pl.Utf8 for c in CUSTOMER_TEXT_FIELDS.values()})
    schema.update({"sales_agent_id": pl.Int64, "category_id": pl.Int64, "credit_limit": pl.Int64})
    existing = bulk.fetch_frame(
        f"SELECT id, code, {', '.join(CUSTOMER_COLUMNS)} FROM {_table(Customer)} "
        "WHERE company_id = %s",
        [company.pk],
        schema,
    )
    merged = customers.join(
        existing.rename({c: f"old_{c}" for c in CUSTOMER_COLUMNS}),
        left_on="customer_code",
        right_on="code",
        how="left",
    )

    new = merged.filter(pl.col("id").is_null())
    if new.height:
        first_id = bulk.reserve_ids(Customer, new.height)
        now = _now_db()
        text_defaults = {c: pl.lit("") for c in CUSTOMER_TEXT_FIELDS.values()}
        text_defaults["country"] = pl.lit("IT")
        new = new.with_columns(
            pl.int_range(first_id, first_id + new.height, dtype=pl.Int64).alias("id"),
            *(
                (pl.col(c).fill_null(default) if c in given else default).alias(c)
                for c, default in text_defaults.items()
            ),
            *(
                (pl.col(c) if c in given else pl.lit(None, dtype=pl.Int64)).alias(c)
                for c in ("sales_agent_id", "category_id", "credit_limit")
            ),
        )
        columns = [
            "id",
            "code",
            *CUSTOMER_COLUMNS,
            "language",
            "interest_kind",
            "notes",
            "company_id",
        ]
        new_rows = new.select(
            "id",
            pl.col("customer_code").alias("code"),
            *CUSTOMER_COLUMNS,
            # Italian for Italian customers (and San Marino, Vatican), English for the rest.
            pl.when(pl.col("country").str.to_uppercase().is_in(["", "IT", "SM", "VA"]))
            .then(pl.lit("it"))
            .otherwise(pl.lit("en"))
            .alias("language"),
            pl.lit("commercial").alias("interest_kind"),
            pl.lit("").alias("notes"),
            pl.lit(company.pk, dtype=pl.Int64).alias("company_id"),
        )
        bulk.insert_rows(
            _table(Customer),
            [*columns, "created_at", "updated_at"],
            ((*row, now, now) for row in bulk.frame_rows(new_rows, columns)),
        )
        counts.customers_created = new.height

    known = merged.filter(pl.col("id").is_not_null())
    if known.height and given:
        refreshed = known.with_columns(pl.coalesce(c, f"old_{c}").alias(c) for c in given)
        changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"old_{c}")) for c in given)
        refreshed = refreshed.filter(changed)
        if refreshed.height:
            now = _now_db()
            bulk.update_rows(
                _table(Customer),
                [*given, "updated_at"],
                ((*row[:-1], now, row[-1]) for row in bulk.frame_rows(refreshed, [*given, "id"])),
            )

    ids = pl.concat(
        [
            known.select("customer_code", pl.col("id").alias("customer_id")),
            new.select("customer_code", pl.col("id").alias("customer_id"))
            if new.height
            else pl.DataFrame(schema={"customer_code": pl.Utf8, "customer_id": pl.Int64}),
        ]
    )
    return ids


def _load_items(model: Any, company: Company, columns: Sequence[str]) -> pl.DataFrame:
    """A company's items of ``model`` as a frame; dates as ISO text, money as cents."""
    select = []
    schema: dict[str, Any] = {}
    for column in columns:
        if column in {"due_date", "document_date", "closed_on"}:
            select.append(f"CAST({column} AS TEXT)")
            schema[column] = pl.Utf8
        elif column in {"id", "customer_id", "amount", "open_amount"}:
            select.append(column)
            schema[column] = pl.Int64
        else:
            select.append(column)
            schema[column] = pl.Utf8
    return bulk.fetch_frame(
        f"SELECT {', '.join(select)} FROM {_table(model)} WHERE company_id = %s",
        [company.pk],
        schema,
    )


def _file_items(frame: pl.DataFrame, customer_ids: pl.DataFrame) -> pl.DataFrame:
    return frame.join(customer_ids, on="customer_code", how="left").select(
        "customer_id",
        "customer_code",
        "document_number",
        _iso("due_date").alias("due_date"),
        (
            _iso("document_date")
            if "document_date" in frame.columns
            else pl.lit(None, dtype=pl.Utf8)
        ).alias("document_date"),
        pl.col("document_type"),
        pl.col("amount_cents").alias("amount"),
        pl.col("open_amount_cents").alias("open_amount"),
        pl.col("currency"),
    )


RECEIVABLE_STATE = [
    "id",
    "customer_id",
    "document_number",
    "due_date",
    "document_date",
    "document_type",
    "amount",
    "open_amount",
    "currency",
    "status",
    "closed_on",
]
KEY = ["customer_id", "document_number", "due_date"]


def _compare_with_ledger(
    company: Company, frame: pl.DataFrame, counts: _Counts, model: Any, state: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lock ``model``'s table, bring the customers up to date, and join the file's rows to
    the company's stored ones by natural key (stored columns prefixed ``old_``).

    Returns the stored rows and the joined frame.
    """
    # Take the write lock first so that nothing changes between reading and writing.
    bulk.lock_for_writing(model)
    customer_ids = _upsert_customers(company, frame, counts)
    items = _file_items(frame, customer_ids)
    existing = _load_items(model, company, state)
    joined = items.join(
        existing.rename({c: f"old_{c}" for c in state if c not in KEY}),
        on=KEY,
        how="left",
    )
    return existing, joined


def _apply_receivables(
    *,
    company: Company,
    run: ImportRun,
    frame: pl.DataFrame,
    as_of: dt.date,
    partial: bool,
    force: bool,
    protected: pl.DataFrame | None,
    on_progress: ProgressCallback | None,
) -> _Counts:
    counts = _Counts()
    existing, joined = _compare_with_ledger(company, frame, counts, Receivable, RECEIVABLE_STATE)
    today = as_of.isoformat()
    open_ = ReceivableStatus.OPEN.value
    closed = ReceivableStatus.CLOSED.value

    new = joined.filter(pl.col("old_id").is_null())
    matched = joined.filter(pl.col("old_id").is_not_null())
    matched, bank_view = _hold_bank_paid(company, matched)
    was_open = pl.col("old_status") == open_
    settled = pl.col("open_amount") == 0
    same = (
        (pl.col("open_amount") == pl.col("old_open_amount"))
        & (pl.col("amount") == pl.col("old_amount"))
        & pl.col("document_date").eq_missing(pl.col("old_document_date"))
        & (pl.col("document_type") == pl.col("old_document_type"))
        & (pl.col("currency") == pl.col("old_currency"))
    )
    matched = matched.with_columns(
        pl.when(was_open & settled)
        .then(pl.lit("close"))
        .when(~was_open & ~settled)
        .then(pl.lit("reopen"))
        .when(same)
        .then(pl.lit("same"))
        .otherwise(pl.lit("update"))
        .alias("change")
    )

    missing = pl.DataFrame(schema={"id": pl.Int64, "open_amount": pl.Int64})
    if not partial:
        still_open = existing.filter(pl.col("status") == open_)
        missing = still_open.join(matched.select(pl.col("old_id").alias("id")), on="id", how="anti")
        if protected is not None and missing.height:
            missing = _drop_protected(company, missing, protected)
        missing, counts.not_yet_in_erp = _drop_recent_einvoices(company, missing, as_of)
        open_count = still_open.height
        closing = missing.height + matched.filter(pl.col("change") == "close").height
        limit = company.close_share_limit
        if not force and open_count and Decimal(closing) / open_count > limit:
            raise _TooManyClosures(
                f"this snapshot would close {closing} of the {open_count} open items "
                f"({closing * 100 // open_count}%, more than {limit * 100:.0f}%): it looks "
                "truncated, so nothing was changed (use --force if it is right)"
            )

    total = new.height + matched.filter(pl.col("change") != "same").height + missing.height
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if on_progress:
            on_progress("writing", done, total)

    events: list[pl.DataFrame] = []
    if new.height:
        first_id = bulk.reserve_ids(Receivable, new.height)
        new = new.with_columns(pl.int_range(first_id, first_id + new.height).alias("id"))
        columns = [
            "id",
            "customer_id",
            "document_number",
            "document_date",
            "due_date",
            "document_type",
            "amount",
            "open_amount",
            "currency",
        ]
        columns, uniform = bulk.uniform_columns(new, columns, ["currency", "document_type"])
        bulk.insert_rows(
            _table(Receivable),
            columns,
            bulk.frame_rows(new, columns),
            on_chunk=advance,
            expected=new.height,
            constants={
                **uniform,
                "company_id": company.pk,
                "status": open_,
                "first_seen_on": today,
                "last_changed_on": today,
            },
        )
        run.save()
        last_id = first_id + new.height - 1
        with connection.cursor() as cursor:
            # Items the snapshot lists as settled (open amount 0) are born closed.
            cursor.execute(
                f"UPDATE {_table(Receivable)} SET status = %s, closed_on = %s "
                "WHERE id BETWEEN %s AND %s AND open_amount = 0",
                [closed, today, first_id, last_id],
            )
            # Their "created" events come straight from the rows just written.
            cursor.execute(
                f"INSERT INTO {_table(ReceivableEvent)} "
                "(receivable_id, kind, on_date, amount_before, amount_after, import_run_id) "
                f"SELECT id, %s, %s, NULL, open_amount, %s FROM {_table(Receivable)} "
                "WHERE id BETWEEN %s AND %s",
                [EventKind.CREATED.value, today, run.pk, first_id, last_id],
            )
        counts.created = new.height

    changes = matched.filter(pl.col("change") != "same")
    if changes.height:
        changes = changes.with_columns(
            pl.when(pl.col("change") == "close")
            .then(pl.lit(closed))
            .when(pl.col("change") == "reopen")
            .then(pl.lit(open_))
            .otherwise(pl.col("old_status"))
            .alias("status"),
            pl.when(pl.col("change") == "close")
            .then(pl.lit(today))
            .when(pl.col("change") == "reopen")
            .then(pl.lit(None, dtype=pl.Utf8))
            .otherwise(pl.col("old_closed_on"))
            .alias("closed_on"),
            pl.lit(today).alias("last_changed_on"),
        )
        columns = [
            "document_date",
            "document_type",
            "amount",
            "open_amount",
            "currency",
            "status",
            "last_changed_on",
            "closed_on",
        ]
        bulk.update_rows(
            _table(Receivable),
            columns,
            bulk.frame_rows(changes, [*columns, "old_id"]),
            on_chunk=advance,
        )
        kinds = {
            "close": EventKind.CLOSED.value,
            "reopen": EventKind.REOPENED.value,
            "update": EventKind.AMOUNT_CHANGED.value,
        }
        with_event = changes.filter(
            (pl.col("change") != "update") | (pl.col("open_amount") != pl.col("old_open_amount"))
        )
        events.append(
            with_event.select(
                pl.col("old_id").alias("id"),
                pl.col("change").replace_strict(kinds).alias("kind"),
                pl.col("old_open_amount").alias("before"),
                pl.col("open_amount").alias("after"),
            )
        )
        counts.closed += changes.filter(pl.col("change") == "close").height
        counts.reopened = changes.filter(pl.col("change") == "reopen").height
        counts.updated = changes.filter(pl.col("change") == "update").height
    counts.unchanged = matched.height - changes.height

    if missing.height:
        bulk.update_rows(
            _table(Receivable),
            ["open_amount", "status", "last_changed_on", "closed_on"],
            ((0, closed, today, today, item_id) for item_id in missing["id"].to_list()),
            on_chunk=advance,
        )
        events.append(
            missing.select(
                "id",
                pl.lit(EventKind.CLOSED.value).alias("kind"),
                pl.col("open_amount").alias("before"),
                pl.lit(0, dtype=pl.Int64).alias("after"),
            )
        )
        counts.closed += missing.height

    if events:
        run.save()
        _write_events(pl.concat(events, how="vertical_relaxed"), run, today)
    _note_erp_listed(company, matched, as_of)
    counts.bank_differs = _settle_bank_paid(company, run, bank_view, partial, as_of)
    return counts


# --------------------------------------------------------------------------------------
# Between two snapshots: e-invoices the ERP has not caught up with, items the bank paid
# --------------------------------------------------------------------------------------


def _drop_recent_einvoices(
    company: Company, missing: pl.DataFrame, as_of: dt.date
) -> tuple[pl.DataFrame, int]:
    """Leave open the e-invoices' items that no snapshot has listed yet and that are too
    recent for the ERP to know (its export runs a day or more behind the exchange system)."""
    if not missing.height:
        return missing, 0
    grace = int(getattr(settings, "INCASSA_EINVOICE_ERP_GRACE_DAYS", 7))
    recent = bulk.fetch_frame(
        f"SELECT DISTINCT i.receivable_id FROM {_table(EInvoiceInstallment)} i "
        f"JOIN {_table(EInvoice)} e ON e.id = i.einvoice_id "
        "WHERE e.company_id = %s AND i.erp_listed_on IS NULL AND e.date > %s",
        [company.pk, as_of - dt.timedelta(days=grace)],
        {"id": pl.Int64},
    )
    if not recent.height:
        return missing, 0
    kept = missing.join(recent, on="id", how="semi").height
    return missing.join(recent, on="id", how="anti"), kept


def _note_erp_listed(company: Company, matched: pl.DataFrame, as_of: dt.date) -> None:
    """Remember which e-invoices' items a snapshot has listed: from then on the ERP speaks
    for them, and a snapshot without them closes them as it closes any other item."""
    waiting = bulk.fetch_frame(
        f"SELECT i.id, i.receivable_id FROM {_table(EInvoiceInstallment)} i "
        f"JOIN {_table(EInvoice)} e ON e.id = i.einvoice_id "
        "WHERE e.company_id = %s AND i.erp_listed_on IS NULL",
        [company.pk],
        {"id": pl.Int64, "receivable_id": pl.Int64},
    )
    if not waiting.height or not matched.height:
        return
    listed = waiting.join(
        matched.select(pl.col("old_id").alias("receivable_id")), on="receivable_id", how="semi"
    )
    if listed.height:
        bulk.update_rows(
            _table(EInvoiceInstallment),
            ["erp_listed_on"],
            ((as_of.isoformat(), pk) for pk in listed["id"].to_list()),
        )


def _hold_bank_paid(company: Company, matched: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep what the bank paid: an item the bank paid that the snapshot lists as owing more
    than the ledger now says keeps the ledger's open amount (and stays closed when the bank
    closed it). Returns the rows and, per held item, what the ERP said and whether it lags."""
    empty = pl.DataFrame(schema={"id": pl.Int64, "erp_open": pl.Int64, "lags": pl.Boolean})
    held = bulk.fetch_frame(
        f"SELECT receivable_id FROM {_table(BankPaidItem)} "
        "WHERE company_id = %s AND status IN (%s, %s)",
        [company.pk, BankPaidStatus.WAITING.value, BankPaidStatus.DIFFERS.value],
        {"old_id": pl.Int64},
    )
    if not held.height or not matched.height:
        return matched, empty
    held = held.with_columns(pl.lit(True).alias("bank_paid"))
    matched = matched.join(held, on="old_id", how="left").with_columns(
        pl.col("bank_paid").fill_null(False)
    )
    lags = pl.col("bank_paid") & (pl.col("open_amount").abs() > pl.col("old_open_amount").abs())
    view = matched.filter(pl.col("bank_paid")).select(
        pl.col("old_id").alias("id"), pl.col("open_amount").alias("erp_open"), lags.alias("lags")
    )
    matched = matched.with_columns(
        pl.when(lags)
        .then(pl.col("old_open_amount"))
        .otherwise(pl.col("open_amount"))
        .alias("open_amount")
    ).drop("bank_paid")
    return matched, view


def _settle_bank_paid(
    company: Company, run: ImportRun, view: pl.DataFrame, partial: bool, as_of: dt.date
) -> int:
    """Flag for the accountants the items the ERP still shows owing more than the bank left;
    close the others' watch (the ERP agrees). Returns how many are flagged."""
    day = as_of.isoformat()
    lagging = view.filter(pl.col("lags"))
    if lagging.height:
        if run.pk is None:
            run.save()  # the flag names the snapshot that raised it
        bulk.update_rows(
            _table(BankPaidItem),
            ["status", "erp_open_amount", "flagged_by_import_id"],
            (
                (BankPaidStatus.DIFFERS.value, erp_open, run.pk, pk)
                for pk, erp_open in lagging.select("id", "erp_open").iter_rows()
            ),
            key="receivable_id",
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table(BankPaidItem)} SET flagged_on = %s "
                "WHERE company_id = %s AND status = %s AND flagged_on IS NULL",
                [day, company.pk, BankPaidStatus.DIFFERS.value],
            )
    agreeing = view.filter(~pl.col("lags"))
    if agreeing.height:
        bulk.update_rows(
            _table(BankPaidItem),
            ["status", "erp_open_amount", "settled_on"],
            (
                (BankPaidStatus.BOOKED.value, erp_open, day, pk)
                for pk, erp_open in agreeing.select("id", "erp_open").iter_rows()
            ),
            key="receivable_id",
        )
    if not partial:
        # Not listed by a full snapshot: the ERP closed it too.
        listed = view["id"].to_list()
        pending = BankPaidItem.objects.filter(
            company=company, status__in=[BankPaidStatus.WAITING, BankPaidStatus.DIFFERS]
        ).values_list("receivable_id", flat=True)
        absent = sorted(set(pending) - set(listed))
        if absent:
            bulk.update_rows(
                _table(BankPaidItem),
                ["status", "erp_open_amount", "settled_on"],
                ((BankPaidStatus.BOOKED.value, 0, day, pk) for pk in absent),
                key="receivable_id",
            )
    return lagging.height


def _drop_protected(
    company: Company, missing: pl.DataFrame, protected: pl.DataFrame
) -> pl.DataFrame:
    """Leave open the items that a rejected row may have been about (``missing`` has the
    items' ``customer_id`` and ``document_number``)."""
    codes = protected["customer_code"].unique().to_list()
    known = dict(Customer.objects.filter(company=company, code__in=codes).values_list("code", "id"))
    keys = protected.with_columns(
        pl.col("customer_code")
        .replace_strict(known, default=None, return_dtype=pl.Int64)
        .alias("customer_id")
    ).filter(pl.col("customer_id").is_not_null())
    by_document = keys.filter(pl.col("document_number").is_not_null())
    by_customer = keys.filter(pl.col("document_number").is_null())
    spared = pl.concat(
        [
            missing.join(
                by_document.select("customer_id", "document_number"),
                on=["customer_id", "document_number"],
                how="semi",
            ).select("id"),
            missing.join(by_customer.select("customer_id"), on="customer_id", how="semi").select(
                "id"
            ),
        ]
    )
    return missing.join(spared, on="id", how="anti")


def _write_events(events: pl.DataFrame, run: ImportRun, on_date: str) -> None:
    events = events.with_columns(
        pl.lit(on_date).alias("on_date"), pl.lit(run.pk, dtype=pl.Int64).alias("import_run_id")
    )
    columns = ["id", "kind", "on_date", "before", "after", "import_run_id"]
    bulk.insert_rows(
        _table(ReceivableEvent),
        ["receivable_id", "kind", "on_date", "amount_before", "amount_after", "import_run_id"],
        bulk.frame_rows(events, columns),
        expected=events.height,
    )


INVOICE_STATE = [
    "id",
    "customer_id",
    "document_number",
    "due_date",
    "document_date",
    "document_type",
    "amount",
    "currency",
]


def _apply_invoices(
    *,
    company: Company,
    run: ImportRun,
    frame: pl.DataFrame,
    on_progress: ProgressCallback | None,
) -> _Counts:
    counts = _Counts()
    _existing, joined = _compare_with_ledger(company, frame, counts, IssuedInvoice, INVOICE_STATE)
    run.save()
    new = joined.filter(pl.col("old_id").is_null())
    if new.height:
        first_id = bulk.reserve_ids(IssuedInvoice, new.height)
        new = new.with_columns(
            pl.int_range(first_id, first_id + new.height).alias("id"),
            pl.lit(company.pk, dtype=pl.Int64).alias("company_id"),
            pl.lit(run.pk, dtype=pl.Int64).alias("import_run_id"),
        )
        columns = [
            "id",
            "company_id",
            "customer_id",
            "document_number",
            "document_date",
            "due_date",
            "document_type",
            "amount",
            "currency",
            "import_run_id",
        ]
        bulk.insert_rows(_table(IssuedInvoice), columns, bulk.frame_rows(new, columns))
        counts.created = new.height
    matched = joined.filter(pl.col("old_id").is_not_null())
    changed = matched.filter(
        (pl.col("amount") != pl.col("old_amount"))
        | pl.col("document_date").ne_missing(pl.col("old_document_date"))
        | (pl.col("document_type") != pl.col("old_document_type"))
        | (pl.col("currency") != pl.col("old_currency"))
    )
    if changed.height:
        changed = changed.with_columns(pl.lit(run.pk, dtype=pl.Int64).alias("import_run_id"))
        columns = ["document_date", "document_type", "amount", "currency", "import_run_id"]
        bulk.update_rows(
            _table(IssuedInvoice), columns, bulk.frame_rows(changed, [*columns, "old_id"])
        )
    counts.updated = changed.height
    counts.unchanged = matched.height - changed.height
    if on_progress:
        on_progress("writing", 1, 1)
    return counts


COMPANY_SETTINGS_FIELDS = (
    "name",
    "vat_number",
    "fiscal_code",
    "iban",
    "address",
    "postal_code",
    "city",
    "province",
    "country",
    "email",
    "sender_name",
    "reply_to",
    "pec",
    "phone",
    "website",
    "logo",
    "signature",
    "letter_footer",
    "max_close_share",
)


def company_update(*, company: Company, values: Mapping[str, Any]) -> Company:
    """Change a company's data and letterhead (its code, which files and URLs use, stays);
    every value is validated as the model says (``ValidationError`` otherwise)."""
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        for name, value in values.items():
            if name not in COMPANY_SETTINGS_FIELDS:
                raise ValueError(f"{name!r} is not a company setting")
            setattr(company, name, value)
        company.full_clean()
        company.save()
    return company
