-- Spectral norm of the infinite matrix A(i,j) = 1/((i+j)(i+j+1)/2+i+1), truncated to N.
-- Usage: spectral_norm.lua [N]
local n = tonumber(arg and arg[1]) or 750
local function a(i, j)
  local s = i + j
  return 1.0 / (s * (s + 1) * 0.5 + i + 1)
end
local function mulAv(v, out)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(i, j) * v[j] end
    out[i] = sum
  end
end
local function mulAtv(v, out)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(j, i) * v[j] end
    out[i] = sum
  end
end
local function mulAtAv(v, out, tmp)
  mulAv(v, tmp)
  mulAtv(tmp, out)
end
local u, v, tmp = {}, {}, {}
for i = 0, n - 1 do u[i] = 1.0; v[i] = 0.0; tmp[i] = 0.0 end
for _ = 1, 10 do
  mulAtAv(u, v, tmp)
  mulAtAv(v, u, tmp)
end
local vBv, vv = 0.0, 0.0
for i = 0, n - 1 do
  vBv = vBv + u[i] * v[i]
  vv = vv + v[i] * v[i]
end
print(string.format("spectral norm (N=%d): %.9f", n, math.sqrt(vBv / vv)))
