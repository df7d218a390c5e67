package broker

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/vhost"
)

// Permission is a user's configure, write and read regular expressions in
// one vhost (rabbitmqctl set_permissions). A resource name matches when the
// expression matches anywhere in it, as Erlang's re:run; "" matches
// nothing but the empty name ("^$", rabbit_auth_backend_internal).
type Permission struct {
	User, VHost            string
	Configure, Write, Read string
}

type permKey struct{ user, vhost string }

// permission is a Permission with its expressions compiled.
type permission struct {
	Permission
	conf, write, read *regexp.Regexp
}

func compilePermission(p Permission) (*permission, error) {
	c := &permission{Permission: p}
	for _, f := range []struct {
		name string
		src  string
		dst  **regexp.Regexp
	}{{"configure", p.Configure, &c.conf}, {"write", p.Write, &c.write}, {"read", p.Read, &c.read}} {
		src := f.src
		if src == "" {
			src = "^$"
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression '%s': %v", f.src, err)
		}
		*f.dst = re
	}
	return c, nil
}

// allows reports whether p grants perm on name.
func (p *permission) allows(perm vhost.Perm, name string) bool {
	switch perm {
	case vhost.Configure:
		return p.conf.MatchString(name)
	case vhost.Write:
		return p.write.MatchString(name)
	case vhost.Read:
		return p.read.MatchString(name)
	}
	return false
}

// Permissions returns every permission, sorted by vhost then user.
func (s *Server) Permissions() []Permission {
	db := s.users
	db.mu.RLock()
	out := make([]Permission, 0, len(db.perms))
	for _, p := range db.perms {
		out = append(out, p.Permission)
	}
	db.mu.RUnlock()
	slices.SortFunc(out, func(a, b Permission) int {
		if c := strings.Compare(a.VHost, b.VHost); c != 0 {
			return c
		}
		return strings.Compare(a.User, b.User)
	})
	return out
}

// SetPermissions sets a user's permissions in a vhost, replacing any:
// ErrNoUser, ErrNoVHost, or an error for an invalid expression.
func (s *Server) SetPermissions(p Permission) error {
	c, err := compilePermission(p)
	if err != nil {
		return err
	}
	if s.VHost(p.VHost) == nil {
		return ErrNoVHost
	}
	db := s.users
	db.mu.Lock()
	if _, ok := db.users[p.User]; !ok {
		db.mu.Unlock()
		return ErrNoUser
	}
	db.perms[permKey{p.User, p.VHost}] = c
	db.mu.Unlock()
	s.set.log.Info(fmt.Sprintf("Successfully set permissions for '%s' in virtual host '%s' to '%s', '%s', '%s'",
		p.User, p.VHost, p.Configure, p.Write, p.Read))
	return s.saveDefinitions()
}

// ClearPermissions removes a user's permissions in a vhost; ErrNoUser or
// ErrNoVHost when either is unknown (none to clear is no error).
func (s *Server) ClearPermissions(user, vh string) error {
	if s.VHost(vh) == nil {
		return ErrNoVHost
	}
	db := s.users
	db.mu.Lock()
	if _, ok := db.users[user]; !ok {
		db.mu.Unlock()
		return ErrNoUser
	}
	delete(db.perms, permKey{user, vh})
	db.mu.Unlock()
	s.set.log.Info(fmt.Sprintf("Successfully cleared permissions for '%s' in virtual host '%s'", user, vh))
	return s.saveDefinitions()
}

// VHostAccess reports whether user holds any permission in vh, which is
// what connection.open asks (rabbit_access_control:check_vhost_access/4).
func (s *Server) VHostAccess(user, vh string) bool {
	db := s.users
	db.mu.RLock()
	defer db.mu.RUnlock()
	_, ok := db.perms[permKey{user, vh}]
	return ok
}

// access returns the vhost.Access of user in vh: the permissions in force
// at each check, so that a change applies to the next operation not yet
// granted (channels keep what they were granted, as in RabbitMQ).
func (s *Server) access(user, vh string) vhost.Access {
	db := s.users
	k := permKey{user, vh}
	return func(perm vhost.Perm, _ string, name string) bool {
		db.mu.RLock()
		p := db.perms[k]
		db.mu.RUnlock()
		return p != nil && p.allows(perm, name)
	}
}

// dropVHostPermissions removes every permission in vh (its deletion).
func (db *userDB) dropVHostPermissions(vh string) {
	db.mu.Lock()
	for k := range db.perms {
		if k.vhost == vh {
			delete(db.perms, k)
		}
	}
	db.mu.Unlock()
}
