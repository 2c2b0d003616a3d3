{#- Session settings of one model, set before it runs and reset after (a model's pre- and
    post-hooks run on its own connection): `settings` maps a setting's name to its value as
    SQL, applied in order, e.g. `{{ config(**session_hooks({'enable_mergejoin': 'off'})) }}`.
    Returns {'pre_hook': [...], 'post_hook': [...]}; a model with hooks of its own adds them
    to these lists. -#}
{% macro session_hooks(settings) -%}
{%- set pre = [] -%}
{%- set post = [] -%}
{%- for name, value in settings.items() -%}
    {%- do pre.append("set " ~ name ~ " = " ~ value) -%}
    {%- do post.append("reset " ~ name) -%}
{%- endfor -%}
{{- return({'pre_hook': pre, 'post_hook': post}) -}}
{%- endmacro %}
