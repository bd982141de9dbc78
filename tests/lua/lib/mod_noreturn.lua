-- helper module that returns nothing: require stores true
noreturn_loaded = true
