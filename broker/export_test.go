package broker

// SetBeforeStoreBatch makes the message store of a broker made from cfg
// call f before it writes each batch: a test blocks in f to stand in for a
// slow disk.
func SetBeforeStoreBatch(cfg *Config, f func()) { cfg.beforeStoreBatch = f }
