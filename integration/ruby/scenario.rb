# Bunny scenario program for beatmq's interop suite. It prints JSON lines on
# stdout: {"event":"open",...} once the connection is open, then one
# {"event":"result",...} line. The Go tests in integration/ drive it.
require "bunny"
require "json"
require "logger"
require "optparse"

CLIENT = "bunny"

opts = { host: "127.0.0.1", count: 1000, seconds: 4.0, queue: "", every: 0.0 }
OptionParser.new do |o|
  o.on("--host H") { |v| opts[:host] = v }
  o.on("--port P", Integer) { |v| opts[:port] = v }
  o.on("--scenario S") { |v| opts[:scenario] = v }
  o.on("--heartbeat N", Integer) { |v| opts[:heartbeat] = v }
  o.on("--name N") { |v| opts[:name] = v }
  o.on("--queue Q") { |v| opts[:queue] = v }
  o.on("--count N", Integer) { |v| opts[:count] = v }
  o.on("--seconds S", Float) { |v| opts[:seconds] = v }
  o.on("--every S", Float) { |v| opts[:every] = v }
  o.on("--tls-ca F") { |v| opts[:tls_ca] = v }
end.parse!

$stdout.sync = true

def emit(obj)
  $stdout.puts(JSON.generate(obj))
end

def now
  Time.now.to_f
end

def payload(i)
  format("msg-%05d", i)
end

def error_fields(e)
  { "error" => e.message.to_s, "error_type" => e.class.name }
end

# True once stdin has a line or reached EOF (the driver's close signal).
def stdin_says_stop
  r, = IO.select([$stdin], nil, nil, 0)
  return false unless r
  $stdin.gets
  true
end

def connect(opts, res)
  # --tls-ca: amqps with peer verification against that CA.
  tls = opts[:tls_ca] ? { tls: true, tls_ca_certificates: [opts[:tls_ca]], verify_peer: true } : {}
  conn = Bunny.new(
    **tls,
    host: opts[:host], port: opts[:port],
    heartbeat: opts[:heartbeat],
    connection_name: opts[:name],
    automatically_recover: false,
    connection_timeout: 10,
    logger: Logger.new($stderr, level: Logger::WARN)
  )
  conn.start
  # The value Bunny negotiated and sent in tune-ok.
  res["heartbeat"] = conn.heartbeat
  # Open a channel before announcing "open": the driver may cut the connection
  # as soon as it reads that line.
  ch = conn.create_channel
  emit("event" => "open", "client" => CLIENT, "heartbeat" => conn.heartbeat,
       "library" => "Bunny #{Bunny::VERSION} (Ruby #{RUBY_VERSION})", "t" => now)
  [conn, ch]
end

def roundtrip(opts, res)
  conn, ch = connect(opts, res)
  q = ch.queue(opts[:queue], exclusive: true)
  ch.confirm_select
  opts[:count].times { |i| ch.default_exchange.publish(payload(i), routing_key: q.name) }
  res["published"] = opts[:count]
  raise "publisher confirms: #{ch.nacked_set.size} nacked" unless ch.wait_for_confirms
  res["confirmed"] = opts[:count]
  ch.prefetch(100)
  got = Queue.new
  consumer = q.subscribe(manual_ack: true) do |info, _props, body|
    got << body
    ch.ack(info.delivery_tag)
  end
  bodies = []
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
  while bodies.size < opts[:count] && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    begin
      bodies << got.pop(true) # non-blocking; Ruby 3.1 has no pop(timeout:)
    rescue ThreadError
      sleep 0.01
    end
  end
  consumer.cancel
  res["received"] = bodies.size
  res["payload_errors"] = bodies.each_with_index.count { |b, i| b != payload(i) }
  conn.close
  res["closed"] = true
end

def hold(opts, res)
  conn, = connect(opts, res)
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + opts[:seconds]
  sleep 0.05 until Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline || stdin_says_stop
  res["alive"] = conn.open?
  conn.close
  res["closed"] = true
end

def idle(opts, res)
  conn, ch = connect(opts, res)
  sleep opts[:seconds]
  ch.queue("", exclusive: true)
  res["alive"] = conn.open?
  conn.close
  res["closed"] = true
end

def dead(opts, res)
  conn, = connect(opts, res)
  begin
    # Bunny's reader loop raises Bunny::NetworkFailure into this thread when it
    # detects a dead connection (its socket read timeout is 2.2 x heartbeat).
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + opts[:seconds]
    sleep 0.05 until Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline || stdin_says_stop
    res["alive"] = conn.open?
  rescue Exception => e # rubocop:disable Lint/RescueException
    res["t_detect"] = now
    res.merge!(error_fields(e))
    res["alive"] = false
    return
  end
  conn.close
  res["closed"] = true
end

def mono
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# Keeps the connection open while the fault matrix injects a fault: consumes
# its own exclusive queue (no acks) and publishes a message to it every --every
# seconds (none if 0). When Bunny's reader loop raises its network failure into
# this thread it reports t_detect and the error at once; when stdin says stop
# or --seconds pass, it waits up to 5 s for what it published and reports
# whether the connection is open. Counters: published, received, max_delay.
def watch(opts, res)
  conn, ch = connect(opts, res)
  sent = []
  got = { n: 0, max: 0.0 }
  lock = Mutex.new
  record = lambda do
    lock.synchronize do
      res["published"] = sent.size
      res["received"] = got[:n]
      res["max_delay"] = got[:max]
    end
  end
  begin
    q = ch.queue(opts[:queue], exclusive: true, auto_delete: true)
    q.subscribe(manual_ack: false) do |_info, _props, body|
      lock.synchronize do
        i = Integer(body, exception: false)
        got[:max] = [got[:max], now - sent[i]].max if i && i >= 0 && i < sent.size
        got[:n] += 1
      end
    end
    bound = mono + opts[:seconds]
    every = opts[:every]
    nxt = every > 0 ? mono + every : Float::INFINITY
    until mono >= bound || stdin_says_stop
      if mono >= nxt
        lock.synchronize do
          ch.default_exchange.publish(sent.size.to_s, routing_key: q.name)
          sent << now
        end
        nxt += every
      end
      sleep 0.01
    end
    drain = mono + 5
    sleep 0.01 while lock.synchronize { got[:n] < sent.size } && mono < drain
    res["alive"] = conn.open?
  rescue Exception => e # rubocop:disable Lint/RescueException
    res["t_detect"] = now
    res.merge!(error_fields(e))
    res["alive"] = false
    record.call
    return
  end
  record.call
  conn.close
  res["closed"] = true
end

res = { "event" => "result", "client" => CLIENT, "scenario" => opts[:scenario], "closed" => false }
begin
  case opts[:scenario]
  when "roundtrip" then roundtrip(opts, res)
  when "hold" then hold(opts, res)
  when "idle" then idle(opts, res)
  when "dead" then dead(opts, res)
  when "watch" then watch(opts, res)
  else raise ArgumentError, "unknown scenario #{opts[:scenario]}"
  end
rescue Exception => e # rubocop:disable Lint/RescueException
  res["t_error"] = now
  res.merge!(error_fields(e))
end
# Bunny's reader loop raises into this thread asynchronously; hold such
# exceptions off while the result is written.
Thread.handle_interrupt(Object => :never) do
  res["t_end"] = now
  emit(res)
  exit!(0)
end
