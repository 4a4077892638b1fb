import ArgumentParser
import LStoreKit
import LStoreSQLite

/// lstore's exit codes. Documented in docs/output-formats.md, the README and `lstore --help`;
/// scripts rely on them.
public enum ExitStatus: Int32, CaseIterable, Sendable {
  case success = 0
  /// Anything unexpected: I/O, SQLite, a damaged store.
  case failure = 1
  /// The store is not in a state that allows the operation (an import whose first parent
  /// is not the head, state behind the eventlog, a store that already exists).
  case refused = 2
  /// A push was rejected because the backend is ahead: pull first.
  case pushRejected = 3
  /// A rebase stopped on a conflict.
  case conflict = 4
  /// `lstore replay --against`: every event applied, but the replayed state differs from
  /// the given state file. Apart from 6 so a CI job can accept expected differences and
  /// still fail on failing events; apart from 1 so neither is mistaken for a crash.
  case stateDiffers = 5
  /// `lstore replay`: some event did not apply (unknown name, invalid args, a failing
  /// materializer).
  case eventsFailed = 6
  /// Wrong command-line usage (ArgumentParser's EX_USAGE).
  case usage = 64
  /// Invalid input: a malformed event or args, a schema error, a damaged export file, a
  /// materializer that fails.
  case invalidInput = 65
  /// Something named does not exist: no store, no such event, commit or file.
  case notFound = 66
  /// A remote could not be reached.
  case unavailable = 69

  /// The exit status and one-line message for an error from the library.
  static func classify(_ error: Error) -> (ExitStatus, String)? {
    switch error {
    case let error as StoreError:
      switch error {
      case .notAStore, .notFound: return (.notFound, error.description)
      case .alreadyExists, .remoteExists, .branchExists, .stateBehind, .readOnly, .busy: return (.refused, error.description)
      case .unknownEvent, .invalidArgs, .invalidStoreId, .invalidBranchName, .empty: return (.invalidInput, error.description)
      case .ambiguous: return (.usage, error.description)
      case .corrupt, .damagedEventlog: return (.failure, error.description)
      }
    case let error as SchemaError: return (error.isMissingFile ? .notFound : .invalidInput, error.description)
    case let error as MaterializeError: return (.invalidInput, error.description)
    case let error as ReplayError: return (.invalidInput, error.description)
    case let error as ExportFormatError: return (.invalidInput, error.description)
    // Stored args that are not JSON are malformed args, as materialize reports them (65).
    case let error as StoredEventError: return (.invalidInput, error.description)
    case let error as ImportError:
      return (error.isHeadMismatch ? .refused : .invalidInput, error.description)
    case let error as EventlogError:
      switch error {
      case .notAnEventlog, .unsupportedFormat: return (.invalidInput, error.description)
      case .duplicateSeqNum, .duplicateCommit, .brokenChain: return (.invalidInput, error.description)
      }
    case let error as InputError: return (error.status, error.message)
    case let error as SQLiteError where error.isBusy:
      return (.refused, "the store is busy: another lstore process is writing to it (\(error.message)); try again when it is done")
    case let error as SQLiteError where error.isDamagedFile:
      return (.failure, "SQLite: \(error.message): a file of this store is damaged; 'lstore fsck' names it")
    case let error as SQLiteError: return (.failure, "SQLite: \(error.message)")
    case let error as SyncError:
      switch error {
      case .pushRejected: return (.pushRejected, error.description)
      case .cannotRollBack, .outOfOrder: return (.failure, error.description)
      case .branchDiverged, .remoteRewritten, .backendIdMismatch, .backendLost, .remoteBehind: return (.refused, error.description)
      case .unknownRemoteEvent, .invalidRemoteEvent, .clientOnlyRemoteEvent, .brokenPendingChain, .remoteEventFails:
        return (.invalidInput, error.description)
      }
    case let error as RebaseError:
      switch error {
      case .inProgress, .notInProgress, .awaitingExec: return (.refused, error.description)
      case .emptyPlan, .invalidState: return (.failure, error.description)
      }
    case let error as RevisionError:
      switch error {
      case .unknown, .noEvent, .tooFarBack, .reflogTooShort, .noOrigHead: return (.notFound, error.description)
      case .malformed, .ambiguous, .noStore, .notOnThisBranch, .notAPoint: return (.usage, error.description)
      }
    case let error as RebasePlanError: return (.invalidInput, error.description)
    case let error as SQLQueryError: return (.invalidInput, error.description)
    case let error as StateDiffError:
      switch error {
      case .unknownTable: return (.notFound, error.description)
      case .noSchema: return (.usage, error.description)
      }
    case let error as SchemaReplayError:
      switch error {
      case .noSchema: return (.usage, error.description)
      case .againstNotFound: return (.notFound, error.description)
      case .againstUnreadable: return (.invalidInput, error.description)
      }
    case let error as RowBlameError:
      switch error {
      case .unknownTable, .noRow: return (.notFound, error.description)
      case .noPrimaryKey, .keyCount: return (.usage, error.description)
      }
    case let error as HeadMoveError: return (.refused, error.description)
    case let error as RepairError:
      switch error {
      case .needsForce: return (.refused, error.description)
      case .notABackup: return (.invalidInput, error.description)
      case .backupFailed, .failed, .failedMidway: return (.failure, error.description)
      }
    case let error as AmendError: return (.refused, error.description)
    case let error as RevertError: return (.refused, error.description)
    case let error as TransportError:
      switch error.kind {
      case .unavailable: return (.unavailable, error.description)
      case .notFound: return (.notFound, error.description)
      case .unauthorized: return (.unavailable, error.description)
      case .protocolViolation: return (.failure, error.description)
      case .invalidLocation: return (.usage, error.description)
      }
    default: return nil
    }
  }
}

/// A command-level error with its exit status.
struct InputError: Error {
  var status: ExitStatus
  var message: String

  static func invalid(_ message: String) -> InputError { InputError(status: .invalidInput, message: message) }
  static func notFound(_ message: String) -> InputError { InputError(status: .notFound, message: message) }
  static func usage(_ message: String) -> InputError { InputError(status: .usage, message: message) }
}
