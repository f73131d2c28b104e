"""`citeqa eval --config KEY=VALUE`: the settings reach `Config` as a user typed them."""

from qa.flags import parse_settings
from qa.config import Config


def test_steps_are_a_comma_separated_list():
    config = Config.from_dict(parse_settings(["steps=yes_no,complete,verify"]))
    assert config.steps == ("yes_no", "complete", "verify")


def test_steps_with_nothing_after_the_sign_switch_every_optional_step_off():
    assert Config.from_dict(parse_settings(["steps="])).steps == ()


def test_dotted_keys_and_json_values_reach_the_nested_settings():
    config = Config.from_dict(parse_settings(["top_k=8", "judge=false", "index.path=idx"]))
    assert config.top_k == 8 and config.judge is False and str(config.index.path) == "idx"


def test_ask_takes_any_answering_setting_beside_its_index_flags(tmp_path):
    import argparse

    from qa.flags import add_assistant_arguments, assistant_from

    parser = argparse.ArgumentParser()
    add_assistant_arguments(parser)
    args = parser.parse_args(["--index", str(tmp_path / "idx"), "--config", "judge=false", "--top-k", "7"])
    config = assistant_from(args).config
    assert (config.judge, config.top_k, config.index.path) == (False, 7, tmp_path / "idx")
