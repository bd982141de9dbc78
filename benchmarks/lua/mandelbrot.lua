-- Mandelbrot set on an N x N grid, 50 iterations per point; prints a checksum
-- instead of the bitmap.  Usage: mandelbrot.lua [N]
local n = tonumber(arg and arg[1]) or 1000
local maxIter = 50
local inside = 0
local checksum = 0
local bits, bitCount = 0, 0
for y = 0, n - 1 do
  local ci = 2.0 * y / n - 1.0
  for x = 0, n - 1 do
    local cr = 2.0 * x / n - 1.5
    local zr, zi, zr2, zi2 = 0.0, 0.0, 0.0, 0.0
    local escaped = false
    for _ = 1, maxIter do
      zi = 2.0 * zr * zi + ci
      zr = zr2 - zi2 + cr
      zr2 = zr * zr
      zi2 = zi * zi
      if zr2 + zi2 > 4.0 then escaped = true; break end
    end
    bits = bits * 2
    if not escaped then bits = bits + 1; inside = inside + 1 end
    bitCount = bitCount + 1
    if bitCount == 8 or x == n - 1 then
      checksum = (checksum * 31 + bits) % 1000000007
      bits, bitCount = 0, 0
    end
  end
end
print(string.format("mandelbrot %dx%d: %d points inside, checksum %d", n, n, inside, checksum))
