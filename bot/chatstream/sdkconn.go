package chatstream

import (
	"errors"
	"reflect"
	"sync"
	"unsafe"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
)

// errSDKShape means the SDK's StreamClient no longer has the fields
// sdkConnected reads (an SDK upgrade): Run then refuses to run rather than
// run a stream it cannot watch.
var errSDKShape = errors.New("chatstream: dingtalk-stream-sdk-go StreamClient has no mutex/conn fields; this SDK version is not supported")

// sdkConnected reports whether cli still has its WebSocket connection.
//
// The SDK (v0.9.2-beta.1) has no public way to learn that a connection
// dropped: with WithAutoReconnect(false) its read loop just sets the
// unexported conn field to nil. So this reads that field, under the
// client's own unexported mutex (the lock the SDK takes to change it), by
// reflection. The SDK version is pinned in go.mod and the fake gateway test
// fails if the fields change; errSDKShape makes Run stop loudly then.
func sdkConnected(cli *client.StreamClient) (bool, error) {
	v := reflect.ValueOf(cli).Elem()
	mu, conn := v.FieldByName("mutex"), v.FieldByName("conn")
	if !mu.IsValid() || mu.Type() != reflect.TypeFor[sync.Mutex]() ||
		!conn.IsValid() || conn.Type() != reflect.TypeFor[*websocket.Conn]() {
		return false, errSDKShape
	}
	m := (*sync.Mutex)(unsafe.Pointer(mu.UnsafeAddr()))
	m.Lock()
	defer m.Unlock()
	return !conn.IsNil(), nil
}
