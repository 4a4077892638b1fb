extension Store {
  /// `pull --adopt-backend`: forgets the backend main synced with, for one that was reset or
  /// replaced (`SyncError.backendIdMismatch`). No event is removed:
  /// - the backend head goes to 0 and the backend id is cleared, in one transaction, so
  ///   every synced event is pending again and the next pull learns the new backend's id;
  /// - what was published to the old backend's commit-records store is forgotten;
  /// - the state is rebuilt, which gives every pending event its session changeset again
  ///   (they were dropped as the old backend confirmed the events), so the next pull can
  ///   roll them back and rebase them onto whatever the new backend holds. Its events equal
  ///   to this store's are confirmed by that pull instead; an empty backend takes them all
  ///   with the next push.
  /// A crash between the two steps leaves the events pending without their changesets:
  /// nothing is lost, and running it again finishes the job.
  ///
  /// On a branch other than main, which syncs with a remote store of its own
  /// (`BranchUpstream`) and keeps no backend id, only how far that store is known to hold
  /// the branch (and the branch's commit-record cursors) is forgotten: the next pull takes
  /// the store from its start, checking what it holds against the branch, and the next push
  /// sends the branch's whole history again. No event changes, none becomes pending.
  public func adoptNewBackend(schema: Schema, now: String) throws {
    guard branch == Store.syncedBranch else {
      let eventlog = try openEventlog(readOnly: false)
      try Rebase.refuseIfInProgress(eventlog, branch: branch)
      try eventlog.connection.transaction(.immediate) {
        try eventlog.removeMeta([BranchUpstream.headKey, CommitRecordSync.headKey, CommitRecordSync.publishedKey])
      }
      return
    }
    do {
      let eventlog = try openEventlog(readOnly: false)
      try Rebase.refuseIfInProgress(eventlog, branch: branch)
      try eventlog.connection.transaction(.immediate) {
        try eventlog.setBackendHead(0)
        try eventlog.setBackendId(nil)
        // The commit records went to the old backend's records store: the new one has none
        // of them, so the next push publishes every commit again, from its first record.
        try eventlog.removeMeta([CommitRecordSync.headKey, CommitRecordSync.publishedKey])
      }
    }
    _ = try Rematerializer.rebuild(eventlogPath: eventlogPath, statePath: statePath(for: schema), schema: schema, updatedAt: now)
  }
}
