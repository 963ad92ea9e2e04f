-- A workload without errors: calls, tables, strings, the garbage collector.
local N = tonumber(arg[1] or 20)
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for i = 1, N * 50 do t[#t + 1] = string.format("%05d:%s", i, string.rep("x", i % 7)) end
table.sort(t, function(a, b) return a > b end)
local words = 0
for _, s in ipairs(t) do for _ in s:gmatch("%d") do words = words + 1 end end
local acc = {}
for i = 1, N * 20 do acc[i] = { i, tostring(i), { i * 2 } } end
collectgarbage()
print("fib", fib(N), "items", #t, "digits", words, "tables", #acc)
