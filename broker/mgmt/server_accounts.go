package mgmt

import (
	"errors"
	"fmt"

	"github.com/beatmq/beatmq/broker"
)

// The Accounts of a broker.Server: its users, vhosts and permissions.

func (a *serverBroker) Users() []UserAccount {
	var out []UserAccount
	for _, u := range a.s.Users() {
		out = append(out, UserAccount{Name: u.Name, PasswordHash: u.PasswordHash, Tags: u.Tags})
	}
	return out
}

func (a *serverBroker) PutUser(u UserAccount, password string, hasPassword bool) (bool, error) {
	bu := broker.User{Name: u.Name, PasswordHash: u.PasswordHash, Tags: u.Tags}
	if hasPassword {
		bu.Password = password
		if password == "" {
			// An empty password is no password, as in RabbitMQ.
			bu.PasswordHash = ""
		}
	}
	return a.s.PutUser(bu)
}

func (a *serverBroker) DeleteUser(name string) error { return accountsErr(a.s.DeleteUser(name)) }

func (a *serverBroker) PutVHost(name string) (bool, error) {
	err := a.s.AddVHost(name)
	if errors.Is(err, broker.ErrVHostExists) {
		return false, nil
	}
	return err == nil, err
}

func (a *serverBroker) DeleteVHost(name string) error { return accountsErr(a.s.DeleteVHost(name)) }

func (a *serverBroker) Permissions() []Permission {
	var out []Permission
	for _, p := range a.s.Permissions() {
		out = append(out, Permission{User: p.User, Vhost: p.VHost, Configure: p.Configure, Write: p.Write, Read: p.Read})
	}
	return out
}

func (a *serverBroker) SetPermission(p Permission) error {
	return accountsErr(a.s.SetPermissions(broker.Permission{User: p.User, VHost: p.Vhost, Configure: p.Configure, Write: p.Write, Read: p.Read}))
}

func (a *serverBroker) ClearPermission(user, vhost string) error {
	for _, p := range a.s.Permissions() {
		if p.User == user && p.VHost == vhost {
			return accountsErr(a.s.ClearPermissions(user, vhost))
		}
	}
	return ErrNotFound
}

// accountsErr maps the broker's unknown-user and unknown-vhost errors to
// ErrNotFound.
func accountsErr(err error) error {
	if errors.Is(err, broker.ErrNoUser) || errors.Is(err, broker.ErrNoVHost) {
		return ErrNotFound
	}
	return err
}

// The Policies of a broker.Server.

func (a *serverBroker) Policies(vh string) []Policy {
	var out []Policy
	for _, p := range a.s.Policies(vh) {
		out = append(out, Policy{Vhost: p.VHost, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition})
	}
	return out
}

func (a *serverBroker) PutPolicy(p Policy) (bool, error) {
	created, err := a.s.PutPolicy(broker.Policy{VHost: p.Vhost, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo, Priority: p.Priority, Definition: p.Definition})
	return created, accountsErr(err)
}

func (a *serverBroker) DeletePolicy(vh, name string) error {
	err := a.s.ClearPolicy(vh, name)
	if errors.Is(err, broker.ErrNoPolicy) {
		return ErrNotFound
	}
	return accountsErr(err)
}

func (a *serverBroker) ExportDefinitions(vhost string) ([]byte, error) {
	doc, err := a.s.ExportDefinitions(vhost)
	return doc, accountsErr(err)
}

func (a *serverBroker) ImportDefinitions(doc []byte, vhost string) error {
	err := a.s.ImportDefinitions(doc, vhost)
	var de *broker.DefinitionsError
	if errors.As(err, &de) {
		return fmt.Errorf("%w: %s", ErrBadDefinitions, de.Msg)
	}
	return accountsErr(err)
}
