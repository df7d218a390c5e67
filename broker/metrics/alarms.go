package metrics

// writeAlarms writes rabbitmq_alarms_* (prometheus_rabbitmq_alarm_metrics_collector):
// 1 while the alarm is in effect. rabbitmq_alarms_file_descriptor_limit is
// left out: beatmq has no file descriptor alarm, and a constant 0 would
// read as a guard that is not there.
func writeAlarms(o *out, sn *snapshot) {
	o.named("rabbitmq_alarms_free_disk_space_watermark", "is 1 if free disk space watermark alarm is in effect", untyped).add(b2f(sn.diskAlarm))
	o.named("rabbitmq_alarms_memory_used_watermark", "is 1 if VM memory watermark alarm is in effect", untyped).add(b2f(sn.memAlarm))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
