//! Lua 5.4 subset (in construction)
