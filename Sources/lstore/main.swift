import LStoreCLI

await LStoreCommand.entryPoint()
