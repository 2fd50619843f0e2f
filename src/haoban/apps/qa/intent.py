"""What the asker wants: 咨询 (information), 办事 (to get something done), 投诉 (a complaint) or 建议 (a proposal).

Rules, checked in that order of priority: a complaint wins over everything (a citizen who reports
misconduct while asking how to apply is complaining), then a proposal, then a service request;
anything else is a plain enquiry.
"""

from __future__ import annotations

import re

from haoban.apps.qa.schemas import Intent

_COMPLAINT = re.compile(
    r"投诉|举报|检举|控告|不作为|乱作为|慢作为|乱收费|乱罚款|吃拿卡要|推诿|扯皮|踢皮球|刁难|态度(?:很|非常|极其)?(?:差|恶劣|蛮横)"
    r"|没人管|无人管|不管不问|置之不理|拖欠|欠薪|讨薪|扰民|噪音|噪声|违章搭建|违建|侵占|强拆|索贿|受贿"
    r"|反映.{0,12}(?:问题|情况|现象)|要求.{0,6}(?:查处|处理|整改|赔偿|退款)|太不像话|严重影响"
)
_PROPOSAL = re.compile(
    r"建议|提议|倡议|呼吁|希望(?:政府|相关部门|有关部门|领导|能|可以|尽快|早日|增加|加大|出台)|"
    r"(?:能否|可否|能不能|可不可以|是否可以)(?:增加|增设|多设|开通|延长|放宽|考虑|出台|加大|设立|安装|修建)|"
    r"应该(?:增加|增设|多设|开通|延长|放宽|出台|加大)|恳请|盼望"
)
_SERVICE = re.compile(
    r"怎么办|如何办|怎样办|怎么申请|如何申请|怎样申请|去哪[里儿]?办|在哪[里儿]?办|到哪[里儿]?办|哪里可以办|办理|申请|申领|申报|"
    r"需要(?:什么|哪些|带)?(?:材料|证件|手续|资料)|要(?:带|交|准备)(?:什么|哪些)|流程|手续|预约|补办|换领|换证|开具|开证明|"
    r"登记|缴纳|缴费|提取|领取|报销|挂号|备案|注册|注销|年检|认证|续签|签注|迁移|落户|网上办|一网通办"
)


def detect_intent(text: str) -> Intent:
    """Classify a question or message into 咨询 / 办事 / 投诉 / 建议 by rules."""
    t = (text or "").strip()
    if _COMPLAINT.search(t):
        return "投诉"
    if _PROPOSAL.search(t):
        return "建议"
    if _SERVICE.search(t):
        return "办事"
    return "咨询"
