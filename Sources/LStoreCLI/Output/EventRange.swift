import LStoreKit

/// How output names the events of a commit or a run: `e4` for one, `e4..e7` for several.
func eventRange(_ first: SeqNum, _ last: SeqNum) -> String {
  first == last ? first.description : "\(first)..\(last)"
}
