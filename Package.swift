// swift-tools-version: 6.1
import PackageDescription

// Dependency direction (nothing imports upward):
//   CSQLite, CZlib ← LStoreSQLite ← LStoreKit ← LStoreCLI ← lstore
// LStoreKit is the library: it never imports ArgumentParser or any networking package
// and it never prints.
let package = Package(
  name: "lstore",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "lstore", targets: ["lstore"]),
    .library(name: "LStoreKit", targets: ["LStoreKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .target(name: "LStoreSQLite", dependencies: ["CSQLite"]),
    .target(
      name: "LStoreKit",
      dependencies: ["LStoreSQLite", "CZlib", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "LStoreCLI",
      dependencies: ["LStoreKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .executableTarget(name: "lstore", dependencies: ["LStoreCLI"]),
    .testTarget(name: "LStoreSQLiteTests", dependencies: ["LStoreSQLite"]),
    .testTarget(name: "LStoreKitTests", dependencies: ["LStoreKit"]),
    .testTarget(name: "EndToEndTests", dependencies: ["lstore"]),
  ]
)
