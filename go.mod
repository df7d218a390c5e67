module github.com/beatmq/beatmq

go 1.26.0

require (
	github.com/rabbitmq/amqp091-go v1.16.0
	github.com/spf13/pflag v1.1.0
	go.uber.org/goleak v1.3.0
	golang.org/x/exp v0.0.0-20261014143641-f0251eb4aa3e
	golang.org/x/sys v0.50.0
)
