-- Fault benchmark load: GET, or with FAULTS_METHOD=POST a urlencoded form of FAULTS_BODY_BYTES
-- bytes; reports through wrk-report.lua (FAULTS_BENCH_DIR is bench/).
if os.getenv("FAULTS_METHOD") == "POST" then
  local size = tonumber(os.getenv("FAULTS_BODY_BYTES") or "1024")
  local head = "name=tscgi&comment="
  wrk.method = "POST"
  wrk.body = head .. string.rep("x", math.max(0, size - #head))
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
dofile(os.getenv("FAULTS_BENCH_DIR") .. "/wrk-report.lua")
