package chatstream

import (
	"encoding/json"
	"fmt"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"

	"github.com/bankbot/bankbot/bot/chatops"
)

// ToMessage converts a Stream bot message into the chatops.Message an HTTP
// callback decodes to. The Stream payload is the callback body (dingtalk.md
// §6.5), so it goes through chatops.DecodeCallback: the same required
// fields (msgId, conversationId) and size limits as POST /dingtalk/callback.
func ToMessage(d *chatbot.BotCallbackDataModel) (chatops.Message, error) {
	if d == nil {
		return chatops.Message{}, fmt.Errorf("%w: no message", chatops.ErrBadCallback)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return chatops.Message{}, fmt.Errorf("%w: %v", chatops.ErrBadCallback, err)
	}
	return chatops.DecodeCallback(body)
}
