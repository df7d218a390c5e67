package mgmttest

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/password"
)

// Users implements mgmt.Accounts.
func (b *Broker) Users() []mgmt.UserAccount {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []mgmt.UserAccount{}
	for name, u := range b.users {
		out = append(out, mgmt.UserAccount{Name: name, PasswordHash: u.hash, Tags: slices.Clone(u.tags)})
	}
	slices.SortFunc(out, func(a, c mgmt.UserAccount) int { return strings.Compare(a.Name, c.Name) })
	return out
}

// PutUser implements mgmt.Accounts.
func (b *Broker) PutUser(u mgmt.UserAccount, pw string, hasPassword bool) (bool, error) {
	nu := user{tags: slices.Clone(u.Tags)}
	if hasPassword {
		if pw != "" {
			nu.pass, nu.hash = pw, password.Hash(pw)
		}
	} else {
		if err := password.Validate(u.PasswordHash); err != nil {
			return false, err
		}
		nu.hash = u.PasswordHash
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, existed := b.users[u.Name]
	b.users[u.Name] = nu
	return !existed, nil
}

// DeleteUser implements mgmt.Accounts.
func (b *Broker) DeleteUser(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.users[name]; !ok {
		return mgmt.ErrNotFound
	}
	delete(b.users, name)
	b.perms = slices.DeleteFunc(b.perms, func(p mgmt.Permission) bool { return p.User == name })
	return nil
}

// hasVHostLocked tells whether vhost name exists: it has exchanges.
func (b *Broker) hasVHostLocked(name string) bool {
	return slices.ContainsFunc(b.xs, func(x mgmt.Exchange) bool { return x.Vhost == name })
}

// PutVHost implements mgmt.Accounts: a new vhost gets the default
// exchanges.
func (b *Broker) PutVHost(name string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hasVHostLocked(name) {
		return false, nil
	}
	b.addDefaultExchangesLocked(name)
	return true, nil
}

// DeleteVHost implements mgmt.Accounts: its exchanges, queues and
// permissions go.
func (b *Broker) DeleteVHost(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.hasVHostLocked(name) {
		return mgmt.ErrNotFound
	}
	b.xs = slices.DeleteFunc(b.xs, func(x mgmt.Exchange) bool { return x.Vhost == name })
	b.queues = slices.DeleteFunc(b.queues, func(q mgmt.Queue) bool { return q.Vhost == name })
	b.perms = slices.DeleteFunc(b.perms, func(p mgmt.Permission) bool { return p.Vhost == name })
	b.policies = slices.DeleteFunc(b.policies, func(p mgmt.Policy) bool { return p.Vhost == name })
	return nil
}

// Permissions implements mgmt.Accounts.
func (b *Broker) Permissions() []mgmt.Permission {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.perms)
	slices.SortFunc(out, func(a, c mgmt.Permission) int {
		return strings.Compare(a.Vhost+"\x00"+a.User, c.Vhost+"\x00"+c.User)
	})
	return out
}

// SetPermission implements mgmt.Accounts.
func (b *Broker) SetPermission(p mgmt.Permission) error {
	for _, re := range []string{p.Configure, p.Write, p.Read} {
		if _, err := regexp.Compile(re); err != nil {
			return errors.New("invalid regular expression '" + re + "'")
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.users[p.User]; !ok || !b.hasVHostLocked(p.Vhost) {
		return mgmt.ErrNotFound
	}
	b.perms = slices.DeleteFunc(b.perms, func(q mgmt.Permission) bool { return q.User == p.User && q.Vhost == p.Vhost })
	b.perms = append(b.perms, p)
	return nil
}

// ClearPermission implements mgmt.Accounts.
func (b *Broker) ClearPermission(userName, vhost string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.perms)
	b.perms = slices.DeleteFunc(b.perms, func(q mgmt.Permission) bool { return q.User == userName && q.Vhost == vhost })
	if len(b.perms) == n {
		return mgmt.ErrNotFound
	}
	return nil
}
