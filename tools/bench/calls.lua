-- Benchmark workload for tools/bench_real.sh: a call-heavy mix for the lua
-- interpreter (built -O2 -finstrument-functions), each round doing table
-- ops, string ops, closures, method calls and a metamethod, so the traced
-- calls are the interpreter's own C functions (the VM, the table and string
-- code, the allocator, the collector), not one hot function.
-- The C call depth stays moderate (tens of frames): Lua-to-Lua calls do not
-- nest the VM in C, and nothing here recurses through a C function (a sort's
-- comparator or gsub's callback is one level, not a chain), so `uftrace
-- record` (1,024 frames at most) can run it.
--   lua calls.lua ROUNDS     prints "lua_calls(ROUNDS)=CHECK cpu_ns=..." with
-- the CPU time of the rounds alone (os.clock: the process's CPU time), not
-- start-up, parsing or exit; ROUNDS 0 does everything but the rounds.
local ROUNDS = tonumber(arg[1] or 2000)

local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec:len2() return self.x * self.x + self.y * self.y end
function Vec:scale(k) return Vec.new(self.x * k, self.y * k) end
Vec.__add = function(a, b) return Vec.new(a.x + b.x, a.y + b.y) end

local function counter()
	local n = 0
	return function(k) n = n + (k or 1) return n end
end

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

local function round(r)
	local check = 0
	-- tables: build, insert/remove, sort with a Lua comparator, concat
	local t = {}
	for i = 1, 40 do t[#t + 1] = (i * 7919 + r) % 1000 end
	table.insert(t, 1, r)
	table.remove(t, 2)
	table.sort(t, function(a, b) return a > b end)
	local parts = {}
	for i, v in ipairs(t) do if i % 4 == 0 then parts[#parts + 1] = tostring(v) end end
	check = check + #table.concat(parts, ",")
	local h = {}
	for i = 1, 30 do h["k" .. (i % 17)] = i end
	for k, v in pairs(h) do check = check + v + #k end
	-- strings: format, pattern matching, gsub with a function, case, find
	local s = string.format("round %d: %s/%05.1f", r, ("ab"):rep(r % 5 + 1), r / 3)
	for w in s:gmatch("%a+") do check = check + #w end
	s = s:gsub("%d", function(d) return string.char(65 + tonumber(d)) end)
	check = check + #s:upper() + (s:find("round", 1, true) or 0) + #s:sub(2, -2)
	-- closures and method calls with a metamethod
	local c = counter()
	local v = Vec.new(r % 3, 1)
	for i = 1, 20 do
		c(i)
		v = (v + Vec.new(1, i % 2)):scale(1)
	end
	check = check + c() + v:len2()
	-- Lua recursion (no C nesting) and a pcall
	local ok, f = pcall(fib, 8)
	if ok then check = check + f end
	return check
end

local t0 = os.clock()
local check = 0
for r = 1, ROUNDS do check = (check + round(r)) % 1000000007 end
local t1 = os.clock()
print(string.format("lua_calls(%d)=%d cpu_ns=%.0f", ROUNDS, check, (t1 - t0) * 1e9))
