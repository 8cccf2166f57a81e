"""Errors keyed by SQLSTATE: one class per code we raise.

Every layer raises these; the wire layer turns them into ErrorResponse fields
without guessing. Anything else escaping to a client is a bug and surfaces as
XX000 (InternalError) with a log entry.
"""

from __future__ import annotations

from typing import ClassVar


class DatabaseError(Exception):
    """Base class: carries a SQLSTATE and the optional PostgreSQL error fields."""

    sqlstate: ClassVar[str] = "XX000"
    severity: str = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        severity: str | None = None,
        context: str | None = None,
        schema: str | None = None,
        table: str | None = None,
        column: str | None = None,
        constraint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position  # 1-based character offset into the query
        self.context = context    # where it happened, e.g. "COPY t, line 3"
        # The object the error is about: clients map constraint errors by
        # name (psycopg's diag.constraint_name, ORMs), so carry them.
        self.schema = schema
        self.table = table
        self.column = column
        self.constraint = constraint
        if severity is not None:
            self.severity = severity

    def __str__(self) -> str:
        return self.message

_BY_CODE: dict[str, type[DatabaseError]] = {}


def error_class(code: str) -> type[DatabaseError]:
    """The class for a SQLSTATE, falling back to its class (first two chars)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = _BY_CODE.get(code[:2] + "000", DatabaseError)
    return cls


# One class per SQLSTATE; names follow psycopg.errors so client and server agree.


class FeatureNotSupported(DatabaseError):
    sqlstate = "0A000"


class ConnectionException(DatabaseError):
    sqlstate = "08000"


class ProtocolViolation(DatabaseError):
    sqlstate = "08P01"


class CardinalityViolation(DatabaseError):
    sqlstate = "21000"


class DataException(DatabaseError):
    sqlstate = "22000"


class StringDataRightTruncation(DatabaseError):
    sqlstate = "22001"


class NumericValueOutOfRange(DatabaseError):
    sqlstate = "22003"


class NullValueNotAllowed(DatabaseError):
    sqlstate = "22004"


class InvalidDatetimeFormat(DatabaseError):
    sqlstate = "22007"


class DatetimeFieldOverflow(DatabaseError):
    sqlstate = "22008"


class InvalidTimeZoneDisplacementValue(DatabaseError):
    sqlstate = "22009"


class SubstringError(DatabaseError):
    sqlstate = "22011"


class DivisionByZero(DatabaseError):
    sqlstate = "22012"


class InvalidPrecedingOrFollowingSize(DatabaseError):
    sqlstate = "22013"


class IntervalFieldOverflow(DatabaseError):
    sqlstate = "22015"


class InvalidEscapeCharacter(DatabaseError):
    sqlstate = "22019"


class InvalidRegularExpression(DatabaseError):
    sqlstate = "2201B"


class InvalidArgumentForLogarithm(DatabaseError):
    sqlstate = "2201E"


class InvalidArgumentForPowerFunction(DatabaseError):
    sqlstate = "2201F"


class InvalidArgumentForWidthBucketFunction(DatabaseError):
    sqlstate = "2201G"


class InvalidRowCountInLimitClause(DatabaseError):
    sqlstate = "2201W"


class InvalidRowCountInResultOffsetClause(DatabaseError):
    sqlstate = "2201X"


class CharacterNotInRepertoire(DatabaseError):
    sqlstate = "22021"


class InvalidParameterValue(DatabaseError):
    sqlstate = "22023"


class InvalidEscapeSequence(DatabaseError):
    sqlstate = "22025"


class InvalidTablesampleRepeat(DatabaseError):
    sqlstate = "2202G"


class InvalidTablesampleArgument(DatabaseError):
    sqlstate = "2202H"


class StringDataLengthMismatch(DatabaseError):
    sqlstate = "22026"


class TrimError(DatabaseError):
    sqlstate = "22027"


class ArraySubscriptError(DatabaseError):
    sqlstate = "2202E"


class SequenceGeneratorLimitExceeded(DatabaseError):
    sqlstate = "2200H"


class InvalidTextRepresentation(DatabaseError):
    sqlstate = "22P02"


class InvalidBinaryRepresentation(DatabaseError):
    sqlstate = "22P03"


class BadCopyFileFormat(DatabaseError):
    sqlstate = "22P04"


class UntranslatableCharacter(DatabaseError):
    sqlstate = "22P05"


class SqlJsonMemberNotFound(DatabaseError):
    sqlstate = "2203A"


class DuplicateJsonObjectKeyValue(DatabaseError):
    sqlstate = "22030"


class IntegrityConstraintViolation(DatabaseError):
    sqlstate = "23000"


class RestrictViolation(DatabaseError):
    sqlstate = "23001"


class NotNullViolation(DatabaseError):
    sqlstate = "23502"


class ForeignKeyViolation(DatabaseError):
    sqlstate = "23503"


class UniqueViolation(DatabaseError):
    sqlstate = "23505"


class CheckViolation(DatabaseError):
    sqlstate = "23514"


class GeneratedAlways(DatabaseError):
    sqlstate = "428C9"


class InvalidCursorState(DatabaseError):
    sqlstate = "24000"


class InvalidTransactionState(DatabaseError):
    sqlstate = "25000"


class ActiveSqlTransaction(DatabaseError):
    sqlstate = "25001"


class ReadOnlySqlTransaction(DatabaseError):
    sqlstate = "25006"


class NoActiveSqlTransaction(DatabaseError):
    sqlstate = "25P01"


class InFailedSqlTransaction(DatabaseError):
    sqlstate = "25P02"


class InvalidSqlStatementName(DatabaseError):
    sqlstate = "26000"


class InvalidAuthorizationSpecification(DatabaseError):
    sqlstate = "28000"


class InvalidPassword(DatabaseError):
    sqlstate = "28P01"


class DependentObjectsStillExist(DatabaseError):
    sqlstate = "2BP01"


class InvalidTransactionTermination(DatabaseError):
    sqlstate = "2D000"


class InvalidCursorName(DatabaseError):
    sqlstate = "34000"


class ExternalRoutineInvocationException(DatabaseError):
    sqlstate = "39000"


class InvalidSavepointSpecification(DatabaseError):
    sqlstate = "3B001"


class InvalidCatalogName(DatabaseError):
    sqlstate = "3D000"


class InvalidSchemaName(DatabaseError):
    sqlstate = "3F000"


class TransactionRollback(DatabaseError):
    sqlstate = "40000"


class SerializationFailure(DatabaseError):
    sqlstate = "40001"


class DeadlockDetected(DatabaseError):
    sqlstate = "40P01"


class SyntaxErrorOrAccessRuleViolation(DatabaseError):
    sqlstate = "42000"


class InsufficientPrivilege(DatabaseError):
    sqlstate = "42501"


class SyntaxError(DatabaseError):
    sqlstate = "42601"


class InvalidName(DatabaseError):
    sqlstate = "42602"


class InvalidColumnDefinition(DatabaseError):
    sqlstate = "42611"


class NameTooLong(DatabaseError):
    sqlstate = "42622"


class DuplicateColumn(DatabaseError):
    sqlstate = "42701"


class AmbiguousColumn(DatabaseError):
    sqlstate = "42702"


class UndefinedColumn(DatabaseError):
    sqlstate = "42703"


class UndefinedObject(DatabaseError):
    sqlstate = "42704"


class DuplicateObject(DatabaseError):
    sqlstate = "42710"


class DuplicateAlias(DatabaseError):
    sqlstate = "42712"


class DuplicateFunction(DatabaseError):
    sqlstate = "42723"


class AmbiguousFunction(DatabaseError):
    sqlstate = "42725"


class GroupingError(DatabaseError):
    sqlstate = "42803"


class DatatypeMismatch(DatabaseError):
    sqlstate = "42804"


class WrongObjectType(DatabaseError):
    sqlstate = "42809"


class InvalidForeignKey(DatabaseError):
    sqlstate = "42830"


class CannotCoerce(DatabaseError):
    sqlstate = "42846"


class UndefinedFunction(DatabaseError):
    sqlstate = "42883"


class ReservedName(DatabaseError):
    sqlstate = "42939"


class UndefinedTable(DatabaseError):
    sqlstate = "42P01"


class UndefinedParameter(DatabaseError):
    sqlstate = "42P02"


class DuplicateCursor(DatabaseError):
    sqlstate = "42P03"


class DuplicateDatabase(DatabaseError):
    sqlstate = "42P04"


class DuplicatePreparedStatement(DatabaseError):
    sqlstate = "42P05"


class DuplicateSchema(DatabaseError):
    sqlstate = "42P06"


class DuplicateTable(DatabaseError):
    sqlstate = "42P07"


class InvalidColumnReference(DatabaseError):
    sqlstate = "42P10"


class InvalidCursorDefinition(DatabaseError):
    sqlstate = "42P11"


class InvalidTableDefinition(DatabaseError):
    sqlstate = "42P16"


class InvalidObjectDefinition(DatabaseError):
    sqlstate = "42P17"


class IndeterminateDatatype(DatabaseError):
    sqlstate = "42P18"


class InvalidRecursion(DatabaseError):
    sqlstate = "42P19"


class WindowingError(DatabaseError):
    sqlstate = "42P20"


class InsufficientResources(DatabaseError):
    sqlstate = "53000"


class DiskFull(DatabaseError):
    sqlstate = "53100"


class OutOfMemory(DatabaseError):
    sqlstate = "53200"


class TooManyConnections(DatabaseError):
    sqlstate = "53300"


class ProgramLimitExceeded(DatabaseError):
    sqlstate = "54000"


class StatementTooComplex(DatabaseError):
    sqlstate = "54001"


class ObjectNotInPrerequisiteState(DatabaseError):
    sqlstate = "55000"


class ObjectInUse(DatabaseError):
    sqlstate = "55006"


class CantChangeRuntimeParam(DatabaseError):
    sqlstate = "55P02"


class LockNotAvailable(DatabaseError):
    sqlstate = "55P03"


class QueryCanceled(DatabaseError):
    sqlstate = "57014"


class AdminShutdown(DatabaseError):
    sqlstate = "57P01"


class CannotConnectNow(DatabaseError):
    sqlstate = "57P03"


class SystemError(DatabaseError):
    sqlstate = "58000"


class IoError(DatabaseError):
    sqlstate = "58030"


class UndefinedFile(DatabaseError):
    sqlstate = "58P01"


class DuplicateFile(DatabaseError):
    sqlstate = "58P02"


class ConfigFileError(DatabaseError):
    sqlstate = "F0000"


class InternalError(DatabaseError):
    sqlstate = "XX000"


class DataCorrupted(DatabaseError):
    sqlstate = "XX001"


for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, DatabaseError) and _cls is not DatabaseError:
        _BY_CODE[_cls.sqlstate] = _cls


class SessionTerminated(Exception):
    """Raised to end a session (FATAL); carries the error to send first."""

    def __init__(self, error: DatabaseError) -> None:
        super().__init__(error.message)
        self.error = error
