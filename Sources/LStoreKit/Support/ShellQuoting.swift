/// Text for a command line that advice prints, to paste into a POSIX shell.
public enum ShellQuoting {
  /// `text` as it is when it needs no quoting (letters, digits, `/._-+@:`), else in single
  /// quotes.
  public static func quoted(_ text: String) -> String {
    let plain = !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+@:".contains($0)) }
    return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
