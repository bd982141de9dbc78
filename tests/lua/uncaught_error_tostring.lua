-- Uncaught error with an error object that has __tostring: its string is shown
print("raising an object with __tostring")
error(setmetatable({}, {__tostring = function() return "custom error text" end}))
