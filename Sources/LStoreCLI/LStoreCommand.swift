import ArgumentParser
public struct LStoreCommand: ParsableCommand { public init() {} ; public func run() {} }
