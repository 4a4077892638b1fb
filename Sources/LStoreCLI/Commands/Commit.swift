import ArgumentParser
import Foundation
import LStoreKit

struct CommitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "commit",
    abstract: "Append events as one atomic commit, materializing them.",
    discussion: """
      Events come from the arguments (NAME and ARGS as a JSON object), from --file (NDJSON, \
      one {"name": …, "args": {…}} per line; - for stdin), or from stdin when it is not a \
      terminal. Every event is checked against the schema before anything is written; then \
      all of them are applied and appended in one transaction, or none. Args are kept \
      exactly as given, a lone surrogate such as "\\ud800" included (a text column of the \
      state gets U+FFFD for it); they nest at most 256 levels and hold at most 790,000 bytes.
      The author comes from LSTORE_AUTHOR_NAME/LSTORE_AUTHOR_EMAIL, the store config, or \
      GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL; the time from LSTORE_DATE, else now.
      """)

  @ParentCommand var root: LStoreCommand

  @Argument(help: ArgumentHelp("The event name, e.g. v1.TodoCreated.", valueName: "name"), completion: Completions.eventNames)
  var name: String?

  @Argument(help: ArgumentHelp("The event's args as a JSON object (default: {}).", valueName: "args"))
  var args: String?

  @Option(name: [.short, .customLong("message")], help: "The commit message (default: a summary of the events).")
  var message: String?

  @Option(name: [.customShort("f"), .customLong("file")], help: ArgumentHelp("Read events from an NDJSON file (- for stdin).", valueName: "path"),
          completion: .file(extensions: ["ndjson", "jsonl"]))
  var files: [String] = []
  /// One file: a second `--file` is refused rather than silently winning.
  var file: String? { files.last }

  @Flag(name: .long, help: "Replace the last commit (unpushed, at the head): its message with -m, and add the events given.")
  var amend = false

  @Flag(name: .long, help: "Print the commit as JSON.")
  var json = false

  func validate() throws {
    if files.count > 1 { throw ValidationError("give --file once (to commit several files, concatenate them: cat a.ndjson b.ndjson | lstore commit --file -)") }
    if name != nil && file != nil { throw ValidationError("give either an event on the command line or --file, not both") }
    if name == nil && args != nil { throw ValidationError("args need an event name") }
  }

  func run() throws {
    let global = root.global
    // Events given as arguments are checked before the store is opened; events from a file
    // or stdin are read one at a time inside the commit's transaction, so a commit of any
    // size needs no more memory than one event (and still keeps all or nothing). An amend
    // of the message alone reads no events (stdin may be a pipe in a script).
    // With no events at all (a terminal on stdin, or an empty pipe), commit groups the
    // pending events no commit holds, such as those a 'reset --soft' ungrouped.
    let noEvents = !amend && name == nil && file == nil && isatty(0) != 0
    let source = amend && name == nil && file == nil || noEvents ? InputSource(given: [], label: "args") : try openInputs()
    let store = try global.openStore()
    let schema = try store.loadSchema()
    // One transaction: an interrupted commit leaves the store as it was.
    let progress = ProgressReporter(quiet: global.quiet, interrupted: "nothing was written")
    defer { progress.finish() }
    let replica = try store.openReplica(schema: schema, now: Clock.now(), progress: progress.handler)
    progress.finish()
    if let rebuild = replica.rebuild { global.note("note: rebuilt state for the current schema (\(counted(rebuild.events, "event")))") }
    let identity = Replica.Identity(clientId: store.config.clientId, sessionId: store.config.sessionId)
    if amend {
      var inputs: [EventInput] = []
      while let input = try source.next() { inputs.append(input) }
      let amended = try replica.amend(message: message, adding: inputs, time: Clock.now(), identity: identity)
      progress.operationEnded()
      render(amended.commit!, count: amended.events.count, global: global)
      return
    }
    let result: Replica.StreamedCommitResult
    do {
      // Events from a file are counted as they are applied (their total is not known).
      result = try replica.commit(
        streaming: { try source.next() }, progress: progress.handler,
        message: { message ?? Self.summary($0) }, author: store.author(), time: Clock.now(),
        identity: identity)
    } catch StoreError.empty {
      if name == nil && file == nil,
         let grouped = try replica.commitUngrouped(message: { message ?? "\($0) events" }, author: store.author(), time: Clock.now()) {
        render(grouped.commit!, count: grouped.count, global: global)
        return
      }
      if noEvents { throw InputError.usage("nothing to commit: give an event name and args, --file, or events on stdin") }
      throw InputError.invalid("\(source.label): no events to commit")
    }
    progress.operationEnded()
    render(result.commit!, count: result.count, global: global)
  }

  private func render(_ commit: Commit, count: Int, global: GlobalOptions) {
    let range = eventRange(commit.first, commit.last)
    if json {
      let value: JSONValue = [
        "id": .string(commit.id), "first": .string(commit.first.description), "last": .string(commit.last.description),
        "events": .integer(Int64(count)), "message": .string(commit.message),
      ]
      global.stdout.line(value.compactText)
    } else {
      let style = global.style
      global.stdout.line("[\(style.yellow(String(commit.id.prefix(8))))] \(range) \(commit.message) (\(count) event\(count == 1 ? "" : "s"))")
    }
  }

  static func summary(_ summary: Replica.StreamedCommitSummary) -> String {
    if summary.count == 1 { return summary.firstName }
    return summary.oneName ? "\(summary.count) × \(summary.firstName)" : "\(summary.count) events"
  }

  /// Where the events come from: the command line, or NDJSON lines read on demand.
  final class InputSource {
    let label: String
    private var given: [EventInput]
    private let reader: LineReader?

    init(given: [EventInput], label: String) {
      self.given = given
      self.label = label
      reader = nil
    }

    init(reader: LineReader, label: String) {
      given = []
      self.reader = reader
      self.label = label
    }

    func next() throws -> EventInput? {
      guard let reader else { return given.isEmpty ? nil : given.removeFirst() }
      return try EventLines.next(reader, label: label)
    }
  }

  func openInputs() throws -> InputSource {
    if let name {
      var value: JSONValue = .object(JSONObject())
      if let args {
        do {
          value = try JSONParser.parse(args)
        } catch {
          throw InputError.invalid("the args of \(name) are not valid JSON: \(error)")
        }
      }
      guard case .object = value else { throw InputError.invalid("the args of \(name) must be a JSON object") }
      return InputSource(given: [EventInput(name: name, args: value, origin: "args")], label: "args")
    }
    let path = file ?? "-"
    if file == nil && isatty(0) != 0 {
      throw InputError.usage("nothing to commit: give an event name and args, --file, or events on stdin")
    }
    let reader: LineReader
    do {
      reader = try LineReader.open(path: path)
    } catch let error as StreamError {
      throw InputError.notFound(error.description)
    }
    return InputSource(reader: reader, label: path == "-" ? "stdin" : path)
  }
}

/// NDJSON event input: `{"name": "...", "args": {...}}` per line.
enum EventLines {
  /// The next event, skipping blank lines; nil at the end of the input. Errors name the line.
  static func next(_ reader: LineReader, label: String) throws -> EventInput? {
    var input: EventInput? = nil
    while input == nil, try reader.next({ line, _ in input = try parse(line, origin: "\(label):\(reader.lineNumber)") }) {}
    return input
  }

  private static func parse(_ line: UnsafeBufferPointer<UInt8>, origin: @autoclosure () -> String) throws -> EventInput? {
    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
    let value: JSONValue
    do {
      value = try JSONParser.parse(line)
    } catch {
      throw InputError.invalid("\(origin()): \(error)")
    }
    guard case .object(let object) = value else { throw InputError.invalid("\(origin()): expected a JSON object") }
    for key in object.keys where key != "name" && key != "args" {
      throw InputError.invalid("\(origin()): unknown key '\(key)' (an event line has \"name\" and \"args\")")
    }
    guard let name = object["name"]?.stringValue else {
      if case .loneSurrogateString? = object["name"] {
        throw InputError.invalid("\(origin()): \"name\" holds a lone surrogate (only args may)")
      }
      throw InputError.invalid("\(origin()): missing \"name\"")
    }
    let args = object["args"] ?? .object(JSONObject())
    guard case .object = args else { throw InputError.invalid("\(origin()): \"args\" must be an object") }
    return EventInput(name: name, args: args, origin: origin())
  }
}
