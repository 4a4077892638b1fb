import LStoreCLI

LStoreCommand.main()
