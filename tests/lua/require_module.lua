-- require, package.path, package.loaded
package.path = "tests/lua/lib/?.lua"
local m = require("mod_helper")
print("module:", type(m), m.greet("world"), m.add(2, 3))
print("module args:", m.name, m.file)
local m2, extra = require("mod_helper")
print("cached:", m2 == m, load_counter, extra)
print("package.loaded:", package.loaded.mod_helper == m, package.loaded["mod_helper"] == m)
print("loaded std libs:", package.loaded.string == string, package.loaded._G == _G, package.loaded.math == math)
print("no return value:", require("mod_noreturn"), noreturn_loaded, package.loaded.mod_noreturn)
package.loaded.mod_helper = nil
local m3 = require("mod_helper")
print("reload after clearing:", m3 ~= m, load_counter)
package.loaded.virtual = {virtual = true}
print("preset package.loaded:", require("virtual").virtual)
package.preload.pre = function(name, arg) return {from = "preload", name = name, arg = arg} end
local p = require("pre")
print("package.preload:", p.from, p.name, p.arg)
local ok, err = pcall(require, "does_not_exist")
print("missing module:", ok, (err:match("^[^\n]*")))
print("missing module mentions path:", err:find("tests/lua/lib/does_not_exist.lua", 1, true) ~= nil)
local ok2, err2 = pcall(require, "mod_error")
print("module runtime error:", ok2, err2)
local ok3, err3 = pcall(require, "mod_syntax")
print("module syntax error:", ok3, (err3:match("^[^\n]*")))
print("package.path:", package.path)
print("package.config first line:", (package.config:match("^[^\n]*")))
print("require non-string:", pcall(require))
