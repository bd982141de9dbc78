-- helper module that fails while loading
error("module failed to initialise")
