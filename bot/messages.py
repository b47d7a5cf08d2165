"""What the gateway itself says to people, in one place, to be reviewed together
and, later, translated.

The dialogue's own words are Rasa's responses (domain.yml) and the actions';
these are the gateway's: when it answers without the dialogue (a message too
long, Rasa down, a lawyer's conversation), and the prompts of channels that
have their own (the hotline's keys, WeChat's menu, Telegram's commands). On a
spoken channel they are read out as written. What the speech layer says of
audio it cannot use stays with it (voice/errors.py, voice/audio.py), and the
staff console's pages keep their own wording (bot/console/).
"""

from __future__ import annotations

# Every channel (bot/turns.py) --------------------------------------------------------
# What the turn handler answers instead of the dialogue, whatever the channel.

BUSY_REPLY = (
    "系统暂时繁忙，您的话我已经记下了，恢复后会接着处理。"
    "请过一会儿再发一条消息；着急的话，可以拨打12348公共法律服务热线。"
)
# Rasa answered nothing: an action failed (the action server died or erred)
# and Rasa carried on without its events. Said so, rather than silence.
NOTHING_DONE_REPLY = (
    "抱歉，这条消息刚才没有处理完，您之前说的都还在。请再说一次；"
    "着急的话，可以拨打12348公共法律服务热线。"
)
SLOW_REPLY = (
    "系统反应有点慢，这条消息可能没有处理完。请过一会儿再说一次；"
    "着急的话，可以拨打12348公共法律服务热线。"
)
# Too many requests from one address in a minute (bot/limits.py), answered with 429.
RATE_LIMITED = "您发得太快了，请稍等一分钟再试。着急的话，可以拨打12348公共法律服务热线。"
TOO_LONG_REPLY = "您的消息太长了，超过了{limit}个字。请分成几段，一段一段地发给我。"
EMPTY_REPLY = "我没有收到文字。请告诉我您遇到了什么问题。"

# The handoff relay (bot/handoff_relay.py) --------------------------------------------
# While a lawyer has the conversation, in the person's channel.

WAITING_ACK = "已转给值班律师，请稍等。律师接手后会在这里回复您；不想等了，可以说“不等了”。"
CLAIMED_ACK = "律师已经接手，您的话会直接转给律师。"
HANDOFF_CANCELLED = "好的，已经不再等律师了。现在是法援助手在和您说话，有问题可以接着问我；着急的话，可以拨打12348公共法律服务热线。"
HANDOFF_RETURNED = (
    "律师已经结束了和您的对话，现在是法援助手在和您说话。有问题可以接着问我，也可以再说“转人工”。"
)
HANDOFF_CLOSED = "律师已经结束了这次对话。律师会按你们说好的办；有新的问题，可以接着问我，也可以再说“转人工”，或者拨打12348公共法律服务热线。"
ASK_CALLBACK = "请告诉我方便回电的时间和电话号码，比如：明天上午十点，13812345678。"
CALLBACK_BOOKED = "好的，已经约好{time}给您回电{phone}。在那之前，您说的话也会留给律师。"
CALLBACK_REFUSED = (
    "这个时间没能约上，回电时间要在今后三十天以内。请再说一个时间，比如：明天上午十点。"
)
OTHER_LAWYER_ACK = "好的，会请现在有空的律师接待您，请稍等。"
RELAY_STORE_DOWN = (
    "抱歉，现在没能把您的话转给律师，请过一会儿再发一次；着急的话，可以拨打12348公共法律服务热线。"
)
# The long poll's error when the store cannot say (a page shows it, or asks again).
UPDATES_UNAVAILABLE = "暂时取不到律师的回复"

# 接续码 (bot/continuation.py) -----------------------------------------------------------
# Continuing a conversation on another channel.

HANDOFF_CODE_REPLY = (
    "好的。在另一个渠道上输入或说：接续 {code}。十分钟内有效，只能用一次。"
    "接上以后，您和律师的对话会转到那里。"
)
# A good code said on the new channel: confirmed first where the code was given
# (store/links.py), so that someone who only overheard the code gets nothing.
# Read out on the voice page and the hotline: the number digit by digit there.
# {where} is CONFIRM_WHERE with the channel's name, or CONFIRM_SOMEWHERE.
CONFIRM_ASK_REPLY = (
    "为了确认是您本人，请回到{where}，发送：确认接续 {number}。十分钟内有效。"
    "确认以后，回到这里说一句“好了”，我们就接着刚才的说。"
)
CONFIRM_WHERE = "原来咨询的地方（{place}）"
CONFIRM_SOMEWHERE = "原来咨询的地方"
# Said once on the new channel when it speaks again before the confirmation came.
CONFIRM_WAITING_REPLY = (
    "还没有收到确认。请到{where}发送：确认接续 {number}。不想接了的话，直接在这里说您的问题就行。"
)
# On the original channel: {place} is where the conversation now goes on.
CONFIRMED_REPLY = "好的，已经确认。现在可以到{place}接着刚才的说了；在这里也还可以接着说。"
CONFIRMED_ELSEWHERE = "另一个地方"
CONFIRM_WRONG_REPLY = (
    "没能确认：这个确认号码不对，或者已经过了十分钟。"
    "请看另一个地方给您的四位数字，再发一次：确认接续，加上这四位数字。"
    "过了十分钟的话，请在这里再要一个接续码。"
)
# The connection, said on the new channel when it next speaks after the
# confirmation (or at once for a code given on the hotline).
LINKED_REPLY = "已经接上了，我们接着刚才的说。"
LINKED_QUESTION = "刚才问到这里："
LINKED_GO_ON = "您可以接着说。"
LINKED_HANDOFF = "已经接上了，您和律师的对话也转到了这里，接着说就行。"
CODE_SAME_REPLY = "这个接续码就是在这个对话里要的，我们一直在接着说，不用再接。"
CODE_WRONG_REPLY = (
    "这个接续码没能接上：可能输错了，或者已经过了十分钟、用过了。"
    "请在原来的地方再要一个接续码；也可以在这里直接说您的问题。"
)
CODE_TOO_MANY_REPLY = (
    "接续码试了太多次，请过十分钟再试；也可以在这里直接说您的问题，"
    "着急的话，可以拨打12348公共法律服务热线。"
)
CODE_DOWN_REPLY = (
    "抱歉，现在没能生成接续码。您可以在这里接着说；着急的话，可以拨打12348公共法律服务热线。"
)
CODE_STORE_DOWN_REPLY = (
    "抱歉，现在没能接上，请过一会儿再试；也可以在这里直接说您的问题，"
    "着急的话，可以拨打12348公共法律服务热线。"
)

# The web chat's page without JavaScript (bot/webchat.py) -----------------------------
# The conversation drawn as HTML.

LOOK_FOR_REPLY = "律师回复后不会自动显示在这个页面上。想看律师回复了没有，请按下面的按钮；想接着说，直接在下面输入。"
LOOK_FOR_REPLY_BUTTON = "看看律师回复了没有"
# Who said each line, and the page's title before the site's name.
PAGE_PERSON = "我"
PAGE_ASSISTANT = "助手"
PAGE_TITLE_PREFIX = "对话 — "
# Links to an application form the conversation offers.
DOWNLOAD_FORM = "下载{title}（PDF）"
DOWNLOAD_LARGE_PRINT = "下载大字版（PDF）"

# The voice chat, its stream and the kiosk (bot/voice_chat.py, bot/voice_stream.py) ---
# Also spoken, as every reply on these channels.

NOT_HEARD_REPLY = "我没有听清楚，请再说一遍。也可以直接打字。"
NOTHING_SENT_MESSAGE = "没有收到声音，请按住说话键再说一次，或者直接打字。"
VOICE_OUTPUT_LOADING = "语音朗读正在准备，请先看文字回复。"
# A reply's speech asked for after it was forgotten (many replies since), or a
# sentence it does not have.
SPEECH_EXPIRED = "这段语音已经过期，请再说一遍。"
SPEECH_PART_MISSING = "这段语音没有这一句。"

# The application form's download (bot/intake_documents.py) ---------------------------
# Plain-text pages for a link that does not lead to a form.

FORM_NOT_FOUND = "没有找到这份申请表。请从对话里的下载链接打开；链接有问题可以拨打12348。"
FORM_UNAVAILABLE = "申请表暂时打不开，您的申请已经保存。请过一会儿再试，或者拨打12348。"

# Telegram (bot/telegram/) ------------------------------------------------------------
# Its commands, help, and answers to what the dialogue cannot take.

TELEGRAM_COMMANDS = {
    "start": "开始咨询",
    "help": "怎么用",
    "human": "转人工（值班律师）",
    "repeat": "再说一遍",
    "slower": "语音说慢一点",
    "faster": "语音说快一点",
    "restart": "重新开始",
}
TELEGRAM_HELP = (
    "我是法援助手，可以回答法律援助的问题，帮您查一查能不能申请法律援助，"
    "也可以帮您登记申请。\n"
    "直接打字，或者按住话筒发语音都可以；发语音的话，我也用语音回答。\n"
    "常用命令：\n"
    "/human 转人工，请值班律师和您说\n"
    "/repeat 再说一遍\n"
    "/slower 语音说慢一点\n"
    "/restart 重新开始\n"
    "着急的话，可以拨打12348公共法律服务热线。"
)
TELEGRAM_UNKNOWN_COMMAND = "这个命令我不认识。" + TELEGRAM_HELP
TELEGRAM_BUTTON_EXPIRED = "这个选项已经过期了，请直接打字告诉我，或者发 /repeat 让我再说一遍。"
# The confirmation of a pressed button, which screen readers read out.
TELEGRAM_CHOSEN = "已选择：{title}"
TELEGRAM_NOT_UNDERSTOOD_KIND = "这类消息我还看不懂。请直接打字，或者发语音告诉我您的问题。"
# Telegram needs some text for a message that only carries buttons.
TELEGRAM_CHOOSE = "请选择："
TELEGRAM_VOICE_NOT_RECEIVED = "这条语音没能收到，请再发一次，或者直接打字。"
TELEGRAM_HEARD = "我听到的是：{heard}"
TELEGRAM_FORM_UNAVAILABLE = (
    "申请表暂时发不出来，您的申请已经保存好了。可以到法律援助中心请工作人员打印，或者拨打12348。"
)
TELEGRAM_LARGE_PRINT = "（大字版）"
# The application form sent as a file, when the offer names no title or file.
TELEGRAM_FORM_TITLE = "申请表"
TELEGRAM_FORM_FILENAME = "申请表.pdf"
TELEGRAM_LARGE_PRINT_FILENAME = "-大字版.pdf"

# WeChat (bot/wechat/) ----------------------------------------------------------------
# The official account's welcome, and answers to what the dialogue cannot take.

WECHAT_WELCOME = (
    "您好，欢迎关注法援助手！我可以免费解答法律问题，帮您看看能不能申请法律援助，"
    "也可以帮您登记申请。\n"
    "· 打字、发语音都可以：发语音时，我会用文字和语音一起回复您。\n"
    "· 有选项时，回复选项前的数字就行。\n"
    "· 想找真人律师，随时发“转人工”。\n"
    "请直接告诉我您遇到了什么问题，比如：老板拖欠我三个月工资。\n"
    "着急的话，可以拨打12348公共法律服务热线；遇到危险，请马上拨打110。"
)
WECHAT_IMAGE_REPLY = (
    "收到您的图片，谢谢。我现在还看不懂图片，请用文字或语音告诉我您遇到的问题；"
    "需要交材料时，律师会告诉您怎么交。"
)
# There is no directory of service points with coordinates (policy/ has regions
# and hotlines only), so a shared location cannot give the nearest one.
WECHAT_LOCATION_REPLY = (
    "收到您的位置，谢谢。我现在还不能按地图查找最近的法律援助中心。"
    "请告诉我您在哪个市、哪个县，比如“我在包头市昆都仑区”；"
    "也可以拨打12348公共法律服务热线，问当地法律援助中心的地址。"
)
WECHAT_UNSUPPORTED_REPLY = "这种消息我还看不懂。请用文字或语音告诉我您遇到的问题。"
WECHAT_VOICE_NOT_FETCHED = "这条语音没能取到，请再发一次，或者直接打字。"
WECHAT_BAD_MESSAGE = "抱歉，这条消息没能读懂，请再发一次。"
WECHAT_CHOICE_HINT = "（回复数字即可选择，也可以直接说。）"
# A lawyer's message, spoken in a voice message: who says it first.
WECHAT_LAWYER_SAYS = "{speaker}说：{text}"

# The hotline (bot/hotline/): spoken on the telephone ---------------------------------
# Choices are read out with their keys; the titles are also what a caller may say.

HOTLINE_GREETING = (
    "您好，这里是法律援助热线的自动语音助手，不是真人。"
    "请直接说您遇到了什么问题。任何时候按零，转人工。"
)
# To a call beyond HOTLINE_MAX_CALLS, before it is hung up (bot/hotline/busy.py).
HOTLINE_BUSY = "您好，现在来电的人很多，线路都在忙。请稍后再拨打一二三四八。谢谢。"
HOTLINE_NOT_HEARD = "我没有听清楚，请再说一遍，或者按键选择。"
# The same, when the question offered choices: they are read again with their keys.
HOTLINE_NOT_HEARD_CHOOSE = "我没有听清楚，请再说一遍，或者按键："
HOTLINE_NO_SUCH_CHOICE = "没有这个选项。按星号键，可以再听一遍。"
HOTLINE_SILENCE_PROMPT = "您还在吗？请直接说您的问题，或者按键选择；按星号键，再听一遍。"
HOTLINE_OFFER_PERSON = "如果需要工作人员帮您，请按零。"
HOTLINE_GOODBYE_SILENT = "很久没有听到您说话，这次通话先结束了。需要的话，欢迎再打过来。再见。"
HOTLINE_TIME_UP = "这次通话时间已经很长了，先结束在这里。需要的话，欢迎再打过来。再见。"
HOTLINE_TRANSFERRING = "好的，现在有工作人员有空，马上为您转接，请不要挂机。"
HOTLINE_TRANSFER_FAILED = "抱歉，转接没有成功。"
HOTLINE_WAIT_CHOICES = "工作人员一有空，就马上为您转接。您也可以约一个时间，让工作人员给您回电话。"
HOTLINE_KEEP_WAITING = "继续等"
HOTLINE_CALL_ME_BACK = "约时间回电"
HOTLINE_OK_WAIT = "好的，请稍等。"
HOTLINE_HOLD = "请稍等，还在为您找工作人员。您前面还有{place}位。"
HOTLINE_STILL_BUSY = "工作人员都还在忙，请再稍等。"
HOTLINE_WAITED_LONG = "已经等了一段时间了。"
HOTLINE_CLAIMED = "律师已经接手了。您直接说，律师会看到您的话，律师的回复会读给您听。"
HOTLINE_WHEN = "想什么时候给您回电话？也可以直接说一个时间，比如明天上午十点。"
HOTLINE_NOT_A_TIME = "这个时间我没听明白。"
HOTLINE_TIME_REFUSED = "回电时间要在今后三十天以内。"
HOTLINE_SAME_NUMBER = "回电就打您现在这个号码吗？尾号是{last}。号码会加密保存，只用来给您回电话。"
HOTLINE_THIS_NUMBER = "就打这个号码"
HOTLINE_OTHER_NUMBER = "换一个号码"
HOTLINE_KEY_IN = "请用电话按键输入回电号码，输完按井号键。号码会加密保存，只用来给您回电话。"
HOTLINE_READ_BACK = "您输入的号码是{number}。"
HOTLINE_RIGHT = "对"
HOTLINE_AGAIN = "重新输入"
HOTLINE_BAD_NUMBER = "这个号码的位数不对。手机号是十一位，座机号要带区号。"
HOTLINE_BOOKED = "好的，已经约好{time}给您回电话，打{whose}。到时候请留意接听。谢谢您的来电，再见。"
HOTLINE_YOUR_NUMBER = "您现在这个号码"
HOTLINE_NUMBER_ENDING = "尾号{tail}的号码"
HOTLINE_BOOK_FAILED = "抱歉，现在没能约上回电。"

# Notes on a handoff ticket, for the staff who open it --------------------------------

OTHER_LAWYER_NOTE = "当事人同意由其他有空的律师接待。"
HOTLINE_HUNG_UP_NOTE = "来电者挂断了电话，没有约回电。"
HOTLINE_TRANSFERRED_NOTE = (
    "来电转接到热线的人工坐席（队列 {queue}），接听的工作人员可以凭这个编号查看摘要。"
)
HOTLINE_TRANSFER_FAILED_NOTE = "转接没有成功，来电者还在线上等待。"

# Requests a client got wrong: for the developers of pages, kiosks and apps -----------

CHAT_BODY_RULE = '请求体必须是 JSON 对象：{"message": "…"}'
CHAT_SENDER_RULE = "sender 必须是 1 到 128 个字符的字符串"
# Who is speaking is decided by the gateway (bot/web_identity.py), never by the body.
SENDER_NEEDS_TOKEN = (
    "不能自己指定 sender：网页和应用的身份由服务器发放（Cookie 或 POST /api/session 的令牌）；"
    "只有持有 GATEWAY_API_TOKEN 的服务器可以指定 sender"
)
SENDER_FROM_ELSEWHERE = (
    "这个 sender 属于 Telegram、微信或热线，只能由那个渠道自己的回调使用，不能通过网页接口冒用"
)
CHAT_MESSAGE_RULE = "message 必须是字符串"
CHAT_METADATA_RULE = "metadata 必须是 JSON 对象"
CHAT_NOT_JSON = "请求体不是合法的 JSON"
REQUEST_TOO_LARGE = "请求太大了，超过了这个接口允许的大小。文字请分成几段发送，录音请分几次说"
CHAT_NOT_TEXT = "请求体里有不能作为文字的字符（单独的 UTF-16 代理项），请用 UTF-8 编码发送"
UPDATES_QUERY_RULE = (
    "after 必须是不小于 0 的整数；sender（只有持有 API 令牌的服务器可以指定）为 1 到 128 个字符"
)
VOICE_SENDER_RULE = "sender 必须是 1 到 128 个字母、数字或 ._:- 字符"
SAY_BODY_RULE = '请求体必须是 JSON 对象：{"message": "…"}'
STREAM_BAD_MESSAGE = '请发送 PCM 音频，说完后发送 {"type": "end"}'
STREAM_OTHER_SITE = "语音连接只能从本站的页面打开"
STREAM_RATE_RULE = "rate 必须是 {rates}"
STREAM_RATE_OR = " 或 "
