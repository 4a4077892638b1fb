import LStoreSync
