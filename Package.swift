// swift-tools-version: 6.1
import PackageDescription

// Dependency direction (nothing imports upward):
//   CSQLite, CZlib ← LStoreSQLite ← LStoreKit ← LStoreCLI ← lstore
//   LStoreKit ← LStoreSync ← LStorePostgres (postgres-nio) ← LStoreServer ← LStoreCLI
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
    // Sync server and WebSocket client (LStoreServer, LStoreSyncWebSocket only).
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    // Hummingbird's own dependencies, named because LStoreServer imports them directly
    // (byte buffers and HTTP heads; the service group that runs the server).
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/vapor/jwt-kit", from: "5.0.0"),
    // PostgreSQL storage for `lstore serve --database` (LStorePostgres only).
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
  ],
  targets: [
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .target(name: "LStoreSQLite", dependencies: ["CSQLite"]),
    .target(
      name: "LStoreKit",
      dependencies: ["LStoreSQLite", "CSQLite", "CZlib", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "LStoreCLI",
      dependencies: [
        "LStoreKit", "LStoreSQLite", "LStoreRemote", "LStoreServer",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "lstore", dependencies: ["LStoreCLI"]),
    // What several test targets share (a seeded random generator); never shipped.
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "LStoreSQLiteTests", dependencies: ["LStoreSQLite", "TestSupport"]),
    .testTarget(name: "LStoreKitTests", dependencies: ["LStoreKit", "LStoreSQLite", "TestSupport"]),
    // JWTKit mints the tokens `lstore serve --jwt-secret` checks, as an app's auth service would.
    .testTarget(name: "EndToEndTests", dependencies: ["lstore", "TestSupport", .product(name: "JWTKit", package: "jwt-kit")]),
    // Sync: protocol + backend (no networking), the Hummingbird server, the WebSocket client.
    .target(name: "LStoreSync", dependencies: ["LStoreKit", "LStoreSQLite"]),
    // PostgreSQL backend storage and the LISTEN/NOTIFY fan-out between nodes.
    .target(
      name: "LStorePostgres",
      dependencies: ["LStoreSync", "LStoreKit", .product(name: "PostgresNIO", package: "postgres-nio"),
                     .product(name: "Logging", package: "swift-log")]),
    .target(
      name: "LStoreServer",
      dependencies: [
        "LStoreKit", "LStoreSync", "LStorePostgres",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "JWTKit", package: "jwt-kit"),
      ]),
    .target(
      name: "LStoreSyncWebSocket",
      dependencies: ["LStoreKit", "LStoreSync", .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                     .product(name: "NIOWebSocket", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]),
    .testTarget(name: "LStoreSyncTests", dependencies: ["LStoreSync", "LStoreKit", "LStoreSQLite"]),
    .testTarget(
      name: "LStorePostgresTests",
      dependencies: ["LStorePostgres", "LStoreSync", "LStoreKit", .product(name: "PostgresNIO", package: "postgres-nio"),
                     .product(name: "Logging", package: "swift-log")]),
    .testTarget(
      name: "LStoreServerTests",
      dependencies: ["LStoreServer", "LStoreSyncWebSocket", "LStoreSync", "LStoreKit", "LStoreSQLite", "TestSupport",
                     .product(name: "JWTKit", package: "jwt-kit"),
                     .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                     .product(name: "Logging", package: "swift-log")]),
    // The client transports push and pull pick from (WebSocket, HTTP, another store).
    .target(name: "LStoreRemote", dependencies: ["LStoreKit", "LStoreSync", "LStoreSyncWebSocket"]),
    .testTarget(name: "LStoreRemoteTests", dependencies: ["LStoreRemote", "LStoreKit"]),
  ]
)
