-- Errors raised from deep C-level recursion: every pcall is a C frame
-- (lua_pcallk -> luaD_rawrunprotected -> _setjmp), and error() leaves by
-- _longjmp through all the frames above the nearest one.
local DEPTH, ROUNDS = tonumber(arg[1] or 120), tonumber(arg[2] or 20)

-- pcall inside pcall: the error at the bottom unwinds one level; every third
-- level re-raises, so a jump leaves several protected calls at once
local function dive(n)
  if n == 0 then error("bottom") end
  local ok, err = pcall(dive, n - 1)
  if n % 3 == 0 then error(err, 0) end
  return ok, err
end

-- C-level recursion through metamethods and library callbacks
local mt = {}
mt.__index = function(t, k)
  if k <= 0 then error({ depth = k }) end
  return t[k - 1]
end
local function sorter(n)
  local items = { 3, 1, 2 }
  table.sort(items, function(a, b)
    if n > 0 then sorter(n - 1) end
    if n == 0 then error("in comparator") end
    return a < b
  end)
end
local function gsubber(n)
  return (string.gsub("abc", "%w", function(c)
    if n == 0 then error("in gsub callback") end
    return gsubber(n - 1)
  end))
end

local caught = 0
for _ = 1, ROUNDS do
  caught = caught + (pcall(dive, DEPTH) and 1 or 0)
  caught = caught + (pcall(function() return setmetatable({}, mt)[DEPTH // 4] end) and 0 or 1)
  caught = caught + (pcall(sorter, 8) and 0 or 1)
  caught = caught + (pcall(gsubber, 10) and 0 or 1)
  caught = caught + (select(2, xpcall(error, function(m) return tostring(m) end, "x")) and 1 or 0)
  local co = coroutine.wrap(function(n) coroutine.yield(n); error("in coroutine") end)
  co(1)
  caught = caught + (pcall(co) and 0 or 1)
end
print("caught", caught)
