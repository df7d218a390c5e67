// Package frames reads and writes the AMQP 0-9-1 wire envelope: the 8-octet
// protocol header, and frames made of a 7-octet header (type, channel, payload
// size), the payload and the frame-end octet 0xCE.
//
// The package follows RabbitMQ 3.10.8 (rabbit_reader.erl, rabbit_command_assembler.erl
// and rabbit_binary_generator.erl): which protocol headers are accepted, the frame_max
// check made before a payload is read, and the exact reply texts of the frame errors
// a broker answers with.
//
// Memory is kept proportional to traffic: a Reader or Writer of an idle connection
// holds no heap buffer, and reading or writing a heartbeat frame allocates nothing.
package frames
