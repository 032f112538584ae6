package workers

import (
	"fmt"

	"github.com/hibiken/asynq"
)

// Redis says how to reach the Redis server behind the queues.
type Redis struct {
	// Addr is host:port. Required.
	Addr string
	// Password authenticates; empty means none.
	Password string
	// DB is the database number.
	DB int
}

func (r Redis) connOpt() asynq.RedisClientOpt {
	return asynq.RedisClientOpt{Addr: r.Addr, Password: r.Password, DB: r.DB}
}

// Runtime is the pipeline running on Asynq: the handlers, the client they
// enqueue follow-up tasks with and the server whose workers process tasks.
// Start makes one; Close stops it.
type Runtime struct {
	// Handlers enqueue and process sealpipe's tasks; the poller and the
	// event bridge enqueue intake tasks through them.
	Handlers *Handlers

	client *asynq.Client
	srv    *asynq.Server
}

// Start connects to Redis and starts workers that process p's tasks,
// configured by cfg (the handlers) and sc (the server).
func Start(redis Redis, p Processor, cfg Config, sc ServerConfig) (*Runtime, error) {
	client := asynq.NewClient(redis.connOpt())
	h := NewHandlers(p, client, cfg)
	srv, mux := NewServer(redis.connOpt(), h, sc)
	if err := srv.Start(mux); err != nil {
		client.Close()
		return nil, fmt.Errorf("workers: start: %w", err)
	}
	return &Runtime{Handlers: h, client: client, srv: srv}, nil
}

// Close stops the workers, waiting for tasks in progress (their results
// are written create-only, so one cut short is redone), and closes the
// client.
func (r *Runtime) Close() {
	r.srv.Shutdown()
	r.client.Close()
}
