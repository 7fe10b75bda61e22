"""Behaviour of the preprocessing profiles on real-looking texts, and the profile lookups."""

import pytest

from sentiq.errors import PreprocessError
from sentiq.preprocess import (
    Profile,
    available_profiles,
    get_profile,
    profile_from_spec,
)

ALL = ["chinese", "chinese-t2s", "none", "review", "tweet"]
CLEANING = ["chinese", "chinese-t2s", "review", "tweet"]


def test_available_profiles():
    assert available_profiles() == ALL


# --- none --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  a\tb  ", "<br />&amp; :) 😂", "ＡＢＣ\x00\ud800"])
def test_none_is_identity(text):
    assert get_profile("none")(text) == text


# --- review ------------------------------------------------------------------------------


def test_review_imdb():
    review = get_profile("review")
    text = "Great film.<br /><br />The acting&amp;story were   superb."
    assert review(text) == "Great film. The acting&story were superb."


def test_review_tags_and_case():
    review = get_profile("review")
    assert review("<p>I <i>LOVED</i> it</p>\n\nReally") == "I LOVED it Really"
    assert review('See <a href="x.html">this</a> &quot;film&quot;') == 'See this "film"'
    # "<3" is not a tag; an escaped tag was text on the page and stays text.
    assert review("I <3 it &lt;br&gt;") == "I <3 it <br>"


# --- tweet -------------------------------------------------------------------------------


def test_tweet_sentiment140():
    tweet = get_profile("tweet")
    text = (
        "@switchfoot http://twitpic.com/2y1zl - Awww, that's a bummer.  "
        "You shoulda got David Carr of Third Day to do it. ;D"
    )
    assert tweet(text) == ("@user http - Aww, that's a bummer. You shoulda got David Carr of Third Day to do it. wink")


def test_tweet_repeats_hashtags_emoticons():
    tweet = get_profile("tweet")
    assert tweet("is sooooo happy!!!! #Excited :) <3") == "is soo happy!! Excited smile love"
    assert tweet("I &lt;3 this &amp; that") == "I love this & that"
    assert tweet("paid 1000 dollars") == "paid 1000 dollars"  # digits are not shortened


def test_tweet_emoji():
    assert get_profile("tweet")("best day ever 😂😂") == ("best day ever face with tears of joy face with tears of joy")


def test_tweet_urls_and_mentions():
    tweet = get_profile("tweet")
    assert tweet("read https://t.co/abc:/x and www.example.com/a?b=1") == "read http and http"
    assert tweet("RT @some_user: hi @Other") == "RT @user: hi @user"
    assert tweet("mail me at me@example.com") == "mail me at me@example.com"


@pytest.mark.parametrize(
    "text, expected",
    [
        (":) :-) =) (:", "smile smile smile smile"),
        (":D xD XD :-D", "laugh laugh laugh laugh"),
        (";) ;-)", "wink wink"),
        (":( :-( =(", "sad sad sad"),
        (":'( T_T", "cry cry"),
        ("<3 </3", "love broken heart"),
        (":P :p", "tongue tongue"),
        (":O o_O", "surprise surprise"),
        (">:( :@", "angry angry"),
        (":/ -_- :|", "annoyed annoyed annoyed"),
        ("great :)))", "great smile"),
        ("lol :DDDD :PP", "lol laugh tongue"),
        ("yay :):) <3<3", "yay smile smile love love"),
        ("bye :(!", "bye sad !"),
    ],
)
def test_tweet_emoticon_table(text, expected):
    assert get_profile("tweet")(text) == expected


@pytest.mark.parametrize("text", ["re:post", "a:/b", "ftp://host/x", "10:30", "good:)"])
def test_tweet_emoticons_need_a_boundary(text):
    assert get_profile("tweet")(text) == text


# --- chinese -----------------------------------------------------------------------------


def test_chinese_weibo_bracket_emoticons():
    chinese = get_profile("chinese")
    text = "更博了，爆照了，帅的呀，就是越来越爱你！生快傻缺[爱你][爱你][爱你]"
    assert chinese(text) == "更博了,爆照了,帅的呀,就是越来越爱你!生快傻缺 爱你 爱你 爱你"


def test_chinese_retweet_chain():
    chinese = get_profile("chinese")
    text = "姑娘都羡慕你呢…还有招财猫高兴……//@爱在蔓延-JC:[哈哈]小学徒一枚，等着明天见您呢"
    assert chinese(text) == "姑娘都羡慕你呢...还有招财猫高兴...... 哈哈 小学徒一枚,等着明天见您呢"
    assert chinese("转发//@张三：说得好//@李四:同意") == "转发 说得好 同意"


def test_chinese_full_width_and_urls():
    chinese = get_profile("chinese")
    assert chinese("ＡＢＣ１２３　好") == "ABC123 好"
    assert chinese("不错 http://t.cn/zOXAaic") == "不错"
    assert chinese("看http://t.cn/zOXAaic好看") == "看 好看"


def test_chinese_mentions_topics_brackets():
    chinese = get_profile("chinese")
    assert chinese("#中秋节#快乐 回复@张三：谢谢 @李四 你好") == "中秋节 快乐 回复 谢谢 你好"
    assert chinese("邮箱 abc@qq.com") == "邮箱 abc@qq.com"
    # Only short bracket contents are emoticons.
    assert chinese("[一二三四五六七八九]") == "[一二三四五六七八九]"


# --- all profiles ------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLEANING)
@pytest.mark.parametrize("text", ["", " ", "\t\n\r\u3000 \x0b"])
def test_empty_and_blank_become_empty(name, text):
    assert get_profile(name)(text) == ""


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    "text",
    [
        "\U00010348 \U0001f9ea \U0001fae0",  # non-BMP: Gothic letter, test tube, melting face
        "a\x00b\x07c\x1b",
        "\ud800 lone surrogate",
        "\u200b\ufeff",
        "]]#@//[[:",
    ],
)
def test_never_raises_and_returns_str(name, text):
    out = get_profile(name)(text)
    assert isinstance(out, str)
    if name != "none":
        assert not any(ch in out for ch in "\x00\x07\x1b\u200b\ufeff")
        assert out == out.strip()


@pytest.mark.parametrize(
    "name, text",
    [
        ("review", "Great film.<br /><br />The acting&amp;story were   superb."),
        ("tweet", "is sooooo happy!!!! #Excited :) <3 @bob http://x.y 😂"),
        ("chinese", "姑娘都羡慕你呢…//@爱在蔓延-JC:[哈哈]小学徒一枚 http://t.cn/zOXAaic"),
    ],
)
def test_cleaning_is_idempotent(name, text):
    profile = get_profile(name)
    assert profile(profile(text)) == profile(text)


@pytest.mark.parametrize("name", ALL)
def test_apply_maps_call(name):
    profile = get_profile(name)
    texts = ["Great film.<br />", "sooooo :)", "ＡＢＣ[哈哈]", ""]
    assert profile.apply(texts) == [profile(t) for t in texts]
    assert profile.apply(iter(texts)) == [profile(t) for t in texts]
    with pytest.raises(TypeError):
        profile.apply("a single text")


# --- lookups and specs -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_spec_round_trips(name):
    profile = get_profile(name)
    assert isinstance(profile, Profile)
    assert profile.spec() == {"name": name, "version": type(profile).version}
    rebuilt = profile_from_spec(profile.spec())
    assert type(rebuilt) is type(profile)
    assert rebuilt.spec() == profile.spec()
    assert rebuilt == profile
    assert get_profile(name, 1).version == 1


def test_unknown_profile_names_it_and_lists_known():
    with pytest.raises(PreprocessError) as info:
        get_profile("twitter")
    message = str(info.value)
    assert "'twitter'" in message
    assert all(name in message for name in ALL)


def test_too_new_version_asks_for_upgrade():
    with pytest.raises(PreprocessError) as info:
        get_profile("tweet", 3)
    message = str(info.value)
    assert "'tweet'" in message and "version 3" in message
    assert "knows version 1" in message and "upgrade sentiq" in message
    with pytest.raises(PreprocessError):
        profile_from_spec({"name": "tweet", "version": 3})


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True])
def test_bad_versions(version):
    with pytest.raises(PreprocessError, match="'review'"):
        get_profile("review", version)


@pytest.mark.parametrize("spec", [{}, {"name": "tweet"}, {"version": 1}, None, ["tweet", 1]])
def test_malformed_spec(spec):
    with pytest.raises(PreprocessError):
        profile_from_spec(spec)


def test_unknown_name_in_spec():
    with pytest.raises(PreprocessError, match="'nope'"):
        profile_from_spec({"name": "nope", "version": 1})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("This movie was great", "en"),
        ("这家酒店很好，服务也不错", "zh"),
        ("iPhone 的电池真的不行", "zh"),
        ("我买了一台 MacBook Pro laptop", "zh"),
        ("これはペンです", "ja"),
        ("정말 좋아요", "ko"),
        ("Это хорошо", "other"),
        ("123 !!! :)", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language_by_script(text, language):
    from sentiq.preprocess.language import detect_language

    assert detect_language(text) == language
